//! Test hooks for crash testing (issue 9): `DYNGROUPS_CRASH_AFTER_WRITES=N` kills the process (SIGKILL,
//! no clean-up, no flush) right after the N-th Okta write has been answered. Honoured only when
//! `DYNGROUPS_TEST_HOOKS=1`, so a stray variable in production does nothing.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Hooks {
    crash_after_writes: Option<u64>,
    answered: AtomicU64,
}

impl Hooks {
    pub fn from_env() -> Hooks {
        let enabled = std::env::var("DYNGROUPS_TEST_HOOKS").is_ok_and(|v| v == "1");
        let crash_after_writes = if enabled {
            std::env::var("DYNGROUPS_CRASH_AFTER_WRITES")
                .ok()
                .and_then(|v| v.trim().parse().ok())
        } else {
            None
        };
        Hooks {
            crash_after_writes,
            answered: AtomicU64::new(0),
        }
    }

    /// Called after every Okta write has been answered (whatever the answer).
    pub fn after_write(&self) {
        let n = self.answered.fetch_add(1, Ordering::SeqCst) + 1;
        if self.crash_after_writes == Some(n) {
            eprintln!("test hook: killing the process after Okta write {n}");
            // SAFETY: getpid and kill have no memory-safety preconditions.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
            std::process::abort();
        }
    }
}
