//! The Okta HTTP client: pagination, pacing to the rate-limit buckets, retries, SSWS and OAuth auth.
//! (Being built: see issue 3.)
