//! Errors from talking to Okta, carrying Okta's own `errorCode`, `errorSummary` and `errorId`.
//! Never carries a credential: request URLs are stored without query secrets and headers are never kept.

use super::model::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum OktaError {
    /// Okta answered with an error body.
    #[error("{method} {path}: Okta answered {status} {code}: {summary}{} (errorId {error_id}){}", causes_suffix(.causes), status_hint(*.status))]
    Api {
        method: String,
        path: String,
        status: u16,
        code: String,
        summary: String,
        error_id: String,
        causes: Vec<String>,
    },
    /// Still rate limited after every retry we allow ourselves.
    #[error(
        "{method} {path}: still rate limited by Okta after {attempts} attempts (bucket {bucket})"
    )]
    RateLimited {
        method: String,
        path: String,
        bucket: String,
        attempts: u32,
    },
    /// Okta could not be reached or the connection dropped, after retries.
    #[error("{method} {url}: could not reach Okta ({detail})")]
    Transport {
        method: String,
        url: String,
        detail: String,
    },
    /// The connection could not even be opened (wrong domain, emulator not running, network down), after retries.
    #[error("could not reach Okta at {base_url}: {hint} ({method} {path}: {detail})")]
    Unreachable {
        method: String,
        path: String,
        base_url: String,
        hint: String,
        detail: String,
    },
    /// Okta answered something we could not read.
    #[error("{method} {path}: unexpected answer from Okta: {detail}")]
    Decode {
        method: String,
        path: String,
        detail: String,
    },
    /// The OAuth token endpoint refused us.
    #[error("getting an OAuth access token: {error}: {description}")]
    OAuth { error: String, description: String },
    /// Our own settings are unusable (URL, credential, key).
    #[error("{0}")]
    Setup(String),
}

/// What a person can do about the statuses a new user meets.
fn status_hint(status: u16) -> &'static str {
    match status {
        401 => {
            ". Okta does not accept this credential for this org: check that the token belongs to this Okta \
             domain and has not expired (unused for 30 days) or been revoked (Security > API > Tokens), then run \
             `dyngroups test-connection`"
        }
        403 => {
            ". The credential lacks the permission for this call: `dyngroups test-connection` lists what is missing"
        }
        _ => "",
    }
}

fn causes_suffix(causes: &[String]) -> String {
    if causes.is_empty() {
        String::new()
    } else {
        format!(" ({})", causes.join("; "))
    }
}

impl OktaError {
    pub fn from_body(method: &str, path: &str, status: u16, body: ErrorBody) -> OktaError {
        OktaError::Api {
            method: method.to_string(),
            path: path.to_string(),
            status,
            code: body.error_code,
            summary: body.error_summary,
            error_id: body.error_id,
            causes: body
                .error_causes
                .into_iter()
                .map(|c| c.error_summary)
                .collect(),
        }
    }

    /// Okta's `errorCode`, when Okta sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            OktaError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            OktaError::Api { status, .. } => Some(*status),
            OktaError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// 403 E0000006: the credential lacks a permission (scope or admin role).
    pub fn is_forbidden(&self) -> bool {
        self.status() == Some(403)
    }

    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }

    /// Okta's `errorId` (quote it to Okta support), when Okta sent one.
    pub fn error_id(&self) -> Option<&str> {
        match self {
            OktaError::Api { error_id, .. } if !error_id.is_empty() => Some(error_id),
            _ => None,
        }
    }

    /// Okta could not be reached at all or the connection kept failing (not an answer from Okta).
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            OktaError::Transport { .. } | OktaError::Unreachable { .. }
        )
    }
}
