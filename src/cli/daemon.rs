//! `dyngroups daemon [--interval 1h] [--listen 127.0.0.1:9090]`: sync at start and every interval, with
//! /healthz, /metrics and a status page. The command lives in `daemon::command`; this file is its CLI slot.

pub use crate::daemon::command::{Args, run};
