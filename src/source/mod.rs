//! The config repository's files, read from a plain folder or from git (gix) at a revision.

use std::collections::BTreeMap;

/// The files of one revision of the config repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigTree {
    /// Path relative to the repository root (with `/`) -> contents.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The commit the files were read from; None for a folder read as it is on disk.
    pub commit: Option<String>,
    /// Where they came from, for messages (a path or URL, never with credentials).
    pub origin: String,
}
