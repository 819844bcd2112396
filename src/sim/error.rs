//! The emulator's answers that are errors: Okta's status, `errorCode`, `errorSummary` and causes, turned
//! into an `OktaError` for the in-memory face or an error body for the HTTP face.

use crate::okta::error::OktaError;
use crate::okta::model::{ErrorBody, ErrorCause};

use super::ids;

/// An Okta API error as the emulator produces it (before an `errorId` is attached).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub summary: String,
    pub causes: Vec<String>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, summary: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            summary: summary.into(),
            causes: Vec::new(),
        }
    }

    /// 400 E0000001 `Api validation failed: {what}` with one cause.
    pub fn validation(what: &str, cause: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            code: "E0000001",
            summary: format!("Api validation failed: {what}"),
            causes: vec![cause.into()],
        }
    }

    /// 404 E0000007 for an id of a kind (`User`, `UserGroup`).
    pub fn not_found(id: &str, kind: &str) -> ApiError {
        ApiError::new(
            404,
            "E0000007",
            format!("Not found: Resource not found: {id} ({kind})"),
        )
    }

    /// 403 E0000006: not allowed (missing scope, or a change to an APP_GROUP/BUILT_IN group).
    pub fn forbidden() -> ApiError {
        ApiError::new(
            403,
            "E0000006",
            "You do not have permission to perform the requested action",
        )
    }

    pub fn bad_search() -> ApiError {
        ApiError::new(400, "E0000031", "Invalid search criteria.")
    }

    pub fn invalid_token() -> ApiError {
        ApiError::new(401, "E0000011", "Invalid token provided")
    }

    pub fn rate_limited() -> ApiError {
        ApiError::new(
            429,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        )
    }

    pub fn path_not_found() -> ApiError {
        ApiError::new(404, "E0000008", "The requested path was not found")
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            405,
            "E0000022",
            "The endpoint does not support the provided HTTP method",
        )
    }

    pub fn malformed_body() -> ApiError {
        ApiError::new(400, "E0000003", "The request body was not well-formed.")
    }

    pub fn internal() -> ApiError {
        ApiError::new(500, "E0000009", "Internal Server Error")
    }

    pub fn wrong_status() -> ApiError {
        ApiError::new(
            403,
            "E0000038",
            "This operation is not allowed in the user's current status.",
        )
    }

    /// Okta's five-field error body with a fresh `errorId`.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error_code: self.code.to_string(),
            error_summary: self.summary.clone(),
            error_link: self.code.to_string(),
            error_id: ids::error_id(),
            error_causes: self
                .causes
                .iter()
                .map(|c| ErrorCause {
                    error_summary: c.clone(),
                })
                .collect(),
        }
    }

    /// The same error as the HTTP client would report it for `method path`.
    pub fn into_okta(self, method: &str, path: &str) -> OktaError {
        let body = self.body();
        OktaError::from_body(method, path, self.status, body)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.summary)?;
        if !self.causes.is_empty() {
            write!(f, " ({})", self.causes.join("; "))?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}
