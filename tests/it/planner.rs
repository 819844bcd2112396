//! Integration tests: planner.
