//! Test hooks for crash testing (issue 9): `DYNGROUPS_CRASH_AFTER_WRITES=N` kills the process (SIGKILL,
//! no clean-up, no flush) right after the N-th Okta write has been answered (Okta did it, we recorded
//! nothing); `DYNGROUPS_CRASH_BEFORE_WRITE=N` kills it right before the N-th write is sent (the intent is
//! journalled, Okta never saw it). Honoured only when `DYNGROUPS_TEST_HOOKS=1`, so a stray variable in
//! production does nothing.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Hooks {
    crash_after_writes: Option<u64>,
    crash_before_write: Option<u64>,
    answered: AtomicU64,
    sent: AtomicU64,
}

fn kill(why: &str) {
    eprintln!("test hook: killing the process {why}");
    // SAFETY: getpid and kill have no memory-safety preconditions.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    std::process::abort();
}

impl Hooks {
    pub fn from_env() -> Hooks {
        let enabled = std::env::var("DYNGROUPS_TEST_HOOKS").is_ok_and(|v| v == "1");
        let var = |name: &str| {
            if enabled {
                std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
            } else {
                None
            }
        };
        Hooks {
            crash_after_writes: var("DYNGROUPS_CRASH_AFTER_WRITES"),
            crash_before_write: var("DYNGROUPS_CRASH_BEFORE_WRITE"),
            answered: AtomicU64::new(0),
            sent: AtomicU64::new(0),
        }
    }

    /// Called after every Okta write has been answered (whatever the answer).
    pub fn after_write(&self) {
        let n = self.answered.fetch_add(1, Ordering::SeqCst) + 1;
        if self.crash_after_writes == Some(n) {
            kill(&format!("after Okta write {n}"));
        }
    }

    /// Called right before every Okta write is sent.
    pub fn before_write(&self) {
        let n = self.sent.fetch_add(1, Ordering::SeqCst) + 1;
        if self.crash_before_write == Some(n) {
            kill(&format!("before Okta write {n}"));
        }
    }
}
