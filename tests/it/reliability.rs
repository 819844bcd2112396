//! Integration tests: reliability (faults, crashes, corrupt stores, hostile input, secrets, least privilege).
//! Figures are printed as `reliability figure: part.key = value` lines (run with `--nocapture` to see them);
//! docs/reliability.md states them and [`doc`] keeps it honest.

#[path = "reliability/common.rs"]
mod common;
#[path = "reliability/crash.rs"]
mod crash;
#[path = "reliability/doc.rs"]
mod doc;
#[path = "reliability/faults.rs"]
mod faults;
#[path = "reliability/hostile.rs"]
mod hostile;
#[path = "reliability/privilege.rs"]
mod privilege;
#[path = "reliability/secrets.rs"]
mod secrets;
#[path = "reliability/store.rs"]
mod store;
