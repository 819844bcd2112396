//! Integration tests: incremental sync gives the same result as a full sync on a changing org.
