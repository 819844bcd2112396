//! Memory figures of this process from /proc (Linux): current and peak resident set size.

/// (VmRSS, VmHWM) in bytes, when /proc/self/status is readable.
pub fn rss() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Resets the peak (VmHWM) to the current RSS, so a later reading measures one phase (Linux ≥ 4.0).
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Hands memory freed so far back to the OS (glibc keeps it otherwise), so that a later peak reading
/// measures the next phase and not the garbage of an earlier one.
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_own_memory_on_linux() {
        if cfg!(target_os = "linux") {
            let (rss, peak) = super::rss().expect("/proc/self/status");
            assert!(rss > 0 && peak >= rss);
        }
    }
}
