//! The config repository's instance and rule files: raw YAML -> validated `model::Config`, collecting every
//! problem as a `file:line:col: message` diagnostic (see docs/config.md for the file format).
//!
//! Pipeline per file: `guard` (size, binary, UTF-8, alias bombs, depth) -> YAML syntax -> `shape` (the generated
//! JSON Schema, every mismatch) -> the typed `raw` mirror -> `resolve` (defaults + semantic `checks`), then the
//! checks across rule files (duplicates, colliding prefixes). `locate` turns a path into a line and column.

pub mod checks;
pub mod diag;
pub mod guard;
pub mod load;
pub mod locate;
pub mod model;
pub mod raw;
pub mod resolve;
pub mod schema;
pub mod shape;

pub use checks::render_description;
pub use diag::{Diagnostic, Diagnostics};
pub use load::{INSTANCE_FILE, is_config_file, is_rule_file, load};
