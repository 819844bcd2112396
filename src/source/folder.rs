//! Reads the config repository from a folder as it is on disk (no git): `dyngroups.yaml` and `rules/**`.

use std::path::Path;

use super::{ConfigTree, SourceError};
use crate::config::guard::MAX_FILE_BYTES;
use crate::config::is_config_file;

/// Deepest folder nesting under `rules/` that is read.
const MAX_DEPTH: usize = 8;
/// Most files looked at under `rules/` (a guard against pointing --config at a huge folder).
const MAX_ENTRIES: usize = 10_000;

pub fn read(root: &Path) -> Result<ConfigTree, SourceError> {
    let io = |p: &Path| {
        let path = p.display().to_string();
        move |source| SourceError::Io { path, source }
    };
    let meta = std::fs::metadata(root).map_err(io(root))?;
    if !meta.is_dir() {
        return Err(SourceError::Io {
            path: root.display().to_string(),
            source: std::io::Error::other(
                "not a folder: --config takes the folder holding dyngroups.yaml",
            ),
        });
    }
    let mut tree = ConfigTree {
        origin: root.display().to_string(),
        ..ConfigTree::default()
    };
    for name in ["dyngroups.yaml", "dyngroups.yml"] {
        take(&root.join(name), name, &mut tree)?;
    }
    let rules = root.join("rules");
    let mut seen = 0;
    if rules.is_dir() {
        walk(&rules, "rules", 0, &mut seen, &mut tree)?;
    }
    Ok(tree)
}

fn walk(
    dir: &Path,
    rel: &str,
    depth: usize,
    seen: &mut usize,
    tree: &mut ConfigTree,
) -> Result<(), SourceError> {
    let io = |source| SourceError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        *seen += 1;
        if *seen > MAX_ENTRIES {
            tree.skipped.insert(
                rel.to_string(),
                format!("more than {MAX_ENTRIES} entries under rules/; only the first were read"),
            );
            return Ok(());
        }
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            tree.skipped.insert(
                format!("{rel}/{}", entry.file_name().to_string_lossy()),
                "file name is not valid UTF-8: rename it".to_string(),
            );
            continue;
        };
        let path = entry.path();
        let rel_path = format!("{rel}/{name}");
        let meta = std::fs::symlink_metadata(&path).map_err(|source| SourceError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if meta.is_dir() {
            if depth + 1 >= MAX_DEPTH {
                tree.skipped.insert(
                    rel_path,
                    format!("folders under rules/ may nest at most {MAX_DEPTH} deep"),
                );
            } else {
                walk(&path, &rel_path, depth + 1, seen, tree)?;
            }
        } else if is_config_file(&rel_path) {
            take(&path, &rel_path, tree)?;
        }
    }
    Ok(())
}

/// Loads one config file into the tree, or records why it was skipped. Missing files are not an error here.
fn take(path: &Path, rel: &str, tree: &mut ConfigTree) -> Result<(), SourceError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(SourceError::Io {
                path: path.display().to_string(),
                source,
            });
        }
    };
    if meta.file_type().is_symlink() {
        tree.skipped.insert(rel.to_string(), "this file is a symbolic link; config files must be regular files (git stores links, not their targets)".to_string());
    } else if !meta.is_file() {
        tree.skipped.insert(
            rel.to_string(),
            "this is not a regular file; config files must be regular files".to_string(),
        );
    } else if meta.len() > MAX_FILE_BYTES {
        tree.skipped.insert(rel.to_string(), too_large(meta.len()));
    } else {
        let bytes = std::fs::read(path).map_err(|source| SourceError::Io {
            path: path.display().to_string(),
            source,
        })?;
        tree.files.insert(rel.to_string(), bytes);
    }
    Ok(())
}

pub(crate) fn too_large(size: u64) -> String {
    format!(
        "file is {size} bytes; config files are limited to {MAX_FILE_BYTES} bytes (1 MiB): split it or remove what is not config"
    )
}
