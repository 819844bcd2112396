//! Integration tests: reliability (faults, crashes, corrupt stores, hostile input, secrets, least privilege).
