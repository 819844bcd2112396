//! Exit codes (a documented table) and the single place that prints an error chain.

use std::io::ErrorKind;

/// The process exit codes; scripts and the GitHub Action rely on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: success, and (with --detailed-exitcode) nothing to change.
    Success,
    /// 1: something failed; the message says what and what to do.
    Failure,
    /// 2: success, and there are changes pending (only with --detailed-exitcode).
    ChangesPending,
    /// 3: a safety limit stopped part of the sync; nothing was applied to the affected groups.
    SafetyStop,
}

impl Exit {
    pub fn code(self) -> i32 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::ChangesPending => 2,
            Exit::SafetyStop => 3,
        }
    }
}

/// Prints the whole error chain once (`error: ...` then `  caused by: ...`) and maps it to an exit code.
/// A broken pipe (e.g. `dyngroups groups | head`) counts as success, as in ripgrep.
pub fn report(result: anyhow::Result<Exit>) -> i32 {
    match result {
        Ok(exit) => exit.code(),
        Err(err) => {
            if err
                .chain()
                .filter_map(|c| c.downcast_ref::<std::io::Error>())
                .any(|io| io.kind() == ErrorKind::BrokenPipe)
            {
                return Exit::Success.code();
            }
            eprintln!("{}", format_chain(&err));
            Exit::Failure.code()
        }
    }
}

pub fn format_chain(err: &anyhow::Error) -> String {
    let mut out = format!("error: {err}");
    for cause in err.chain().skip(1) {
        out.push_str(&format!("\n  caused by: {cause}"));
    }
    out
}
