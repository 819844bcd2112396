//! Credentials for Okta: an SSWS API token, or OAuth 2.0 client credentials with a `private_key_jwt` assertion
//! (RS256) exchanged at the org authorization server for an access token that is cached until shortly before it
//! expires. Nothing here ever prints a secret: `Debug` is written by hand and header values are marked sensitive.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::HeaderValue;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use url::Url;

use crate::okta::error::OktaError;
use crate::secret::Secret;

/// The scopes dyngroups asks for by default: least privilege for reading users, the schema, and managing groups.
pub const DEFAULT_SCOPES: &[&str] = &[
    "okta.users.read",
    "okta.groups.read",
    "okta.groups.manage",
    "okta.schemas.read",
];

/// `client_assertion_type` for private_key_jwt (RFC 7523).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long the client assertion is valid (Okta accepts at most 1 h).
const ASSERTION_LIFETIME: Duration = Duration::from_secs(300);

/// How dyngroups proves who it is to Okta.
#[derive(Clone)]
pub enum Credentials {
    /// `Authorization: SSWS <token>`.
    ApiToken(Secret),
    /// OAuth 2.0 service app, client credentials with private_key_jwt.
    PrivateKeyJwt(OAuthSettings),
}

#[derive(Clone)]
pub struct OAuthSettings {
    pub client_id: String,
    /// PEM (PKCS#1 or PKCS#8) RSA private key.
    pub private_key_pem: Secret,
    /// `kid` of the key registered with the app, if more than one.
    pub key_id: Option<String>,
    /// Empty = [`DEFAULT_SCOPES`].
    pub scopes: Vec<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::ApiToken(_) => f.write_str("ApiToken(<redacted>)"),
            Credentials::PrivateKeyJwt(s) => s.fmt(f),
        }
    }
}

impl fmt::Debug for OAuthSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthSettings")
            .field("client_id", &self.client_id)
            .field("private_key_pem", &"<redacted>")
            .field("key_id", &self.key_id)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// The claims of the client assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssertionClaims {
    pub aud: String,
    pub iss: String,
    pub sub: String,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
}

/// Builds the signed client assertion for `client_id` at `token_url`, issued at `now` (UTC epoch seconds).
pub fn client_assertion(
    client_id: &str,
    token_url: &str,
    key: &EncodingKey,
    key_id: Option<&str>,
    now: u64,
    jti: &str,
) -> Result<String, OktaError> {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = key_id.map(str::to_string);
    let claims = AssertionClaims {
        aud: token_url.to_string(),
        iss: client_id.to_string(),
        sub: client_id.to_string(),
        iat: now,
        exp: now + ASSERTION_LIFETIME.as_secs(),
        jti: jti.to_string(),
    };
    jsonwebtoken::encode(&header, &claims, key).map_err(|e| {
        OktaError::Setup(format!(
            "signing the OAuth client assertion for client {client_id}: {e}"
        ))
    })
}

/// A cached access token.
pub(crate) struct CachedToken {
    pub header: HeaderValue,
    /// When to fetch a new one (a little before Okta's expiry).
    pub refresh_at: Instant,
}

/// The OAuth side of an [`Auth`]: settings, the parsed key, and the token cache (one fetch at a time).
pub(crate) struct OAuthState {
    pub client_id: String,
    pub key: EncodingKey,
    pub key_id: Option<String>,
    pub scopes: Vec<String>,
    pub token_url: Url,
    pub cache: tokio::sync::Mutex<Option<CachedToken>>,
}

impl OAuthState {
    pub fn new(settings: &OAuthSettings, base: &Url) -> Result<OAuthState, OktaError> {
        if settings.client_id.trim().is_empty() {
            return Err(OktaError::Setup(
                "the OAuth client_id is empty: set credential.client_id to the service app's client id".into(),
            ));
        }
        let key = EncodingKey::from_rsa_pem(settings.private_key_pem.expose().as_bytes()).map_err(
            |e| {
                OktaError::Setup(format!(
                    "the OAuth private key for client {} is not a usable RSA PEM key ({e}); \
                 expected -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----",
                    settings.client_id
                ))
            },
        )?;
        let token_url = base
            .join("/oauth2/v1/token")
            .map_err(|e| OktaError::Setup(format!("building the token URL from {base}: {e}")))?;
        let scopes = if settings.scopes.is_empty() {
            DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect()
        } else {
            settings.scopes.clone()
        };
        Ok(OAuthState {
            client_id: settings.client_id.clone(),
            key,
            key_id: settings.key_id.clone(),
            scopes,
            token_url,
            cache: tokio::sync::Mutex::new(None),
        })
    }

    /// The form of `POST /oauth2/v1/token`.
    pub fn token_form(&self) -> Result<Vec<(&'static str, String)>, OktaError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let jti = format!("{:032x}", rand::random::<u128>());
        let assertion = client_assertion(
            &self.client_id,
            self.token_url.as_str(),
            &self.key,
            self.key_id.as_deref(),
            now,
            &jti,
        )?;
        Ok(vec![
            ("grant_type", "client_credentials".to_string()),
            ("scope", self.scopes.join(" ")),
            ("client_assertion_type", JWT_BEARER.to_string()),
            ("client_assertion", assertion),
        ])
    }
}

/// How requests are authorized.
pub(crate) enum Auth {
    Ssws(HeaderValue),
    OAuth(Box<OAuthState>),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Ssws(_) => f.write_str("Ssws(<redacted>)"),
            Auth::OAuth(s) => f
                .debug_struct("OAuth")
                .field("client_id", &s.client_id)
                .field("scopes", &s.scopes)
                .field("token_url", &s.token_url.as_str())
                .finish_non_exhaustive(),
        }
    }
}

impl Auth {
    pub fn new(credentials: &Credentials, base: &Url) -> Result<Auth, OktaError> {
        match credentials {
            Credentials::ApiToken(token) => {
                if token.is_empty() {
                    return Err(OktaError::Setup("the Okta API token is empty".into()));
                }
                Ok(Auth::Ssws(sensitive_header("SSWS", token.expose())?))
            }
            Credentials::PrivateKeyJwt(settings) => {
                Ok(Auth::OAuth(Box::new(OAuthState::new(settings, base)?)))
            }
        }
    }
}

/// `"{scheme} {token}"` as a header value that hyper/reqwest never print.
pub(crate) fn sensitive_header(scheme: &str, token: &str) -> Result<HeaderValue, OktaError> {
    let mut v = HeaderValue::from_str(&format!("{scheme} {}", token.trim())).map_err(|_| {
        OktaError::Setup(format!(
            "the {scheme} credential contains characters that cannot be sent in an HTTP header (a stray newline?)"
        ))
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// When to refresh a token that lives `expires_in`: five minutes early (longer than any one request's retries),
/// or a tenth of its life if that is shorter.
pub(crate) fn refresh_after(expires_in: Duration) -> Duration {
    expires_in.saturating_sub(Duration::from_secs(300).min(expires_in / 10))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    const TEST_KEY: &str = include_str!("testdata/test-rsa-key.pem");
    const TEST_PUB: &str = include_str!("testdata/test-rsa-pub.pem");

    #[test]
    fn assertion_claims_and_signature() {
        let key = EncodingKey::from_rsa_pem(TEST_KEY.as_bytes()).unwrap();
        let aud = "https://acme.okta.com/oauth2/v1/token";
        let jwt =
            client_assertion("0oa123", aud, &key, Some("kid-1"), 1_700_000_000, "j1").unwrap();
        let mut v = Validation::new(Algorithm::RS256);
        v.set_audience(&[aud]);
        v.set_issuer(&["0oa123"]);
        v.validate_exp = false;
        let data = jsonwebtoken::decode::<AssertionClaims>(
            &jwt,
            &DecodingKey::from_rsa_pem(TEST_PUB.as_bytes()).unwrap(),
            &v,
        )
        .unwrap();
        assert_eq!(data.header.alg, Algorithm::RS256);
        assert_eq!(data.header.kid.as_deref(), Some("kid-1"));
        let c = data.claims;
        assert_eq!(
            (c.iss.as_str(), c.sub.as_str(), c.aud.as_str()),
            ("0oa123", "0oa123", aud)
        );
        assert_eq!(c.iat, 1_700_000_000);
        assert!(c.exp > c.iat && c.exp - c.iat <= 3600);
        assert_eq!(c.jti, "j1");
    }

    #[test]
    fn token_form_uses_default_scopes_and_fresh_jti() {
        let settings = OAuthSettings {
            client_id: "0oa123".into(),
            private_key_pem: Secret::new(TEST_KEY),
            key_id: None,
            scopes: vec![],
        };
        let base = Url::parse("https://acme.okta.com").unwrap();
        let st = OAuthState::new(&settings, &base).unwrap();
        assert_eq!(
            st.token_url.as_str(),
            "https://acme.okta.com/oauth2/v1/token"
        );
        let f1 = st.token_form().unwrap();
        let f2 = st.token_form().unwrap();
        let get =
            |f: &[(&str, String)], k: &str| f.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(get(&f1, "grant_type"), "client_credentials");
        assert_eq!(
            get(&f1, "scope"),
            "okta.users.read okta.groups.read okta.groups.manage okta.schemas.read"
        );
        assert_eq!(get(&f1, "client_assertion_type"), JWT_BEARER);
        let claims = |f: &[(&str, String)]| {
            let mut v = Validation::new(Algorithm::RS256);
            v.set_audience(&["https://acme.okta.com/oauth2/v1/token"]);
            jsonwebtoken::decode::<AssertionClaims>(
                &get(f, "client_assertion"),
                &DecodingKey::from_rsa_pem(TEST_PUB.as_bytes()).unwrap(),
                &v,
            )
            .unwrap()
            .claims
        };
        assert_ne!(claims(&f1).jti, claims(&f2).jti);
    }

    #[test]
    fn secrets_never_in_debug() {
        let c = Credentials::ApiToken(Secret::new("00SECRETTOKEN"));
        assert!(!format!("{c:?}").contains("SECRET"));
        let settings = OAuthSettings {
            client_id: "0oa123".into(),
            private_key_pem: Secret::new(TEST_KEY),
            key_id: None,
            scopes: vec![],
        };
        let dbg = format!("{:?}", Credentials::PrivateKeyJwt(settings.clone()));
        assert!(
            dbg.contains("0oa123") && !dbg.contains("PRIVATE KEY"),
            "{dbg}"
        );
        let base = Url::parse("https://acme.okta.com").unwrap();
        let ssws = Auth::new(&Credentials::ApiToken(Secret::new("00SECRETTOKEN")), &base).unwrap();
        assert_eq!(format!("{ssws:?}"), "Ssws(<redacted>)");
        match &ssws {
            Auth::Ssws(h) => {
                assert!(h.is_sensitive());
                assert!(!format!("{h:?}").contains("SECRET"));
            }
            Auth::OAuth(_) => unreachable!(),
        }
        let oauth = Auth::new(&Credentials::PrivateKeyJwt(settings), &base).unwrap();
        assert!(!format!("{oauth:?}").contains("PRIVATE"));
    }

    #[test]
    fn bad_key_and_bad_token_are_setup_errors_without_the_secret() {
        let base = Url::parse("https://acme.okta.com").unwrap();
        let settings = OAuthSettings {
            client_id: "0oa123".into(),
            private_key_pem: Secret::new("-----BEGIN PRIVATE KEY-----\nnot-a-keySECRETBITS\n"),
            key_id: None,
            scopes: vec![],
        };
        let e = Auth::new(&Credentials::PrivateKeyJwt(settings), &base)
            .unwrap_err()
            .to_string();
        assert!(e.contains("0oa123") && !e.contains("SECRETBITS"), "{e}");
        let e = Auth::new(&Credentials::ApiToken(Secret::new("ab\ncSECRET")), &base)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("SECRET"), "{e}");
    }

    #[test]
    fn refresh_before_expiry() {
        assert_eq!(
            refresh_after(Duration::from_secs(3600)),
            Duration::from_secs(3300)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(10)),
            Duration::from_secs(9)
        );
        assert_eq!(refresh_after(Duration::ZERO), Duration::ZERO);
    }
}
