//! The long-running reconciler: sync at start and every interval, /healthz, /metrics and a status page.
