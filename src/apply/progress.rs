//! Progress of an apply: a bar on a terminal, a log line every few seconds otherwise.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    done: std::sync::atomic::AtomicU64,
    last_log: Mutex<Instant>,
    every: Duration,
}

impl Progress {
    /// `interactive`: draw a bar if stderr is a terminal; otherwise log lines.
    pub fn new(total: u64, interactive: bool) -> Progress {
        let bar = (interactive && std::io::stderr().is_terminal() && total > 0).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} {msg} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message("applying");
            bar
        });
        Progress {
            bar,
            total,
            done: std::sync::atomic::AtomicU64::new(0),
            last_log: Mutex::new(Instant::now()),
            every: Duration::from_secs(10),
        }
    }

    pub fn hidden() -> Progress {
        Progress::new(0, false)
    }

    pub fn set_stage(&self, stage: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(stage.to_string());
        }
    }

    pub fn inc(&self) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            bar.inc(1);
            return;
        }
        if let Ok(mut last) = self.last_log.lock()
            && last.elapsed() >= self.every
        {
            *last = Instant::now();
            tracing::info!(
                done,
                total = self.total,
                "applying: {done}/{} changes",
                self.total
            );
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
