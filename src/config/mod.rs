//! The config repository's instance and rule files: raw YAML -> validated `model::Config`, collecting every
//! problem as a `file:line:col: message` diagnostic. (Loading being built: see issue 4.)

pub mod model;
