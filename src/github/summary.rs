//! The GitHub Actions files a step may write: `$GITHUB_STEP_SUMMARY` (Markdown shown on the run page,
//! at most 1 MiB per step) and `$GITHUB_OUTPUT` (step outputs, multi-line values behind a random delimiter).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use rand::Rng as _;

use super::comment::STEP_SUMMARY_LIMIT;

/// The step summary file, when running in GitHub Actions (`GITHUB_STEP_SUMMARY` set and non-empty).
pub fn step_summary_path() -> Option<PathBuf> {
    std::env::var_os("GITHUB_STEP_SUMMARY")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Bytes still free in the step summary file under GitHub's 1 MiB, keeping a small margin.
pub fn step_summary_room(path: &Path) -> usize {
    let used = std::fs::metadata(path)
        .map(|m| m.len() as usize)
        .unwrap_or(0);
    STEP_SUMMARY_LIMIT.saturating_sub(used).saturating_sub(4096)
}

/// Appends `markdown` (and a blank line) to the step summary; refuses to grow it past the limit.
pub fn append_step_summary(path: &Path, markdown: &str) -> std::io::Result<()> {
    if markdown.len() > step_summary_room(path) {
        return Err(std::io::Error::other(format!(
            "the step summary would exceed GitHub's {STEP_SUMMARY_LIMIT}-byte limit"
        )));
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(markdown.as_bytes())?;
    if !markdown.ends_with('\n') {
        f.write_all(b"\n")?;
    }
    f.write_all(b"\n")
}

/// `name<<DELIM\nvalue\nDELIM\n` with a random delimiter that does not occur in `value`.
pub fn output_entry(name: &str, value: &str) -> String {
    let mut rng = rand::rng();
    loop {
        let delim = format!("ghadelimiter_{:032x}", rng.random::<u128>());
        if !value.contains(&delim) {
            return format!("{name}<<{delim}\n{value}\n{delim}\n");
        }
    }
}

/// Appends step outputs to `$GITHUB_OUTPUT` when it is set; a no-op otherwise.
pub fn write_outputs(outputs: &[(&str, String)]) -> std::io::Result<()> {
    let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    for (name, value) in outputs {
        f.write_all(output_entry(name, value).as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_entries_use_a_fresh_delimiter() {
        let e = output_entry("counts", "a\nb");
        let mut lines = e.lines();
        let head = lines.next().unwrap();
        let delim = head.strip_prefix("counts<<").unwrap();
        assert!(delim.starts_with("ghadelimiter_") && delim.len() > 40);
        assert_eq!(lines.collect::<Vec<_>>(), vec!["a", "b", delim]);
        assert_ne!(output_entry("x", ""), output_entry("x", ""));
    }

    #[test]
    fn step_summary_appends_and_respects_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.md");
        append_step_summary(&path, "# one").unwrap();
        append_step_summary(&path, "two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# one\n\ntwo\n\n");
        let big = "x".repeat(STEP_SUMMARY_LIMIT);
        assert!(append_step_summary(&path, &big).is_err());
        assert!(step_summary_room(&path) < STEP_SUMMARY_LIMIT);
    }
}
