//! `POST /oauth2/v1/token`: OAuth 2.0 client credentials with `private_key_jwt`, verified against the
//! public keys the seed registers, giving scoped Bearer tokens that live 3600 seconds.

use std::collections::BTreeSet;

use chrono::TimeDelta;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use crate::sim::ids;
use crate::sim::state::{Actor, Org, TokenInfo};

/// An OAuth failure: HTTP status, `error`, `error_description`.
pub type OAuthFailure = (u16, &'static str, String);

fn fail(status: u16, error: &'static str, d: impl Into<String>) -> OAuthFailure {
    (status, error, d.into())
}

/// Issues a token for a form body, accepting assertions whose `aud` is `<base>/oauth2/v1/token` for any of `bases`.
pub fn token(org: &mut Org, form: &[u8], bases: &[String]) -> Result<Value, OAuthFailure> {
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(form).into_owned().collect();
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match get("grant_type") {
        Some("client_credentials") => {}
        Some(_) => {
            return Err(fail(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            ));
        }
        None => {
            return Err(fail(
                400,
                "invalid_request",
                "The grant_type parameter is required.",
            ));
        }
    }
    if get("client_assertion_type")
        != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    {
        return Err(fail(
            401,
            "invalid_client",
            "The client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
        ));
    }
    let assertion = get("client_assertion")
        .ok_or_else(|| fail(401, "invalid_client", "The client_assertion is missing."))?;
    let header = jsonwebtoken::decode_header(assertion).map_err(|e| {
        fail(
            401,
            "invalid_client",
            format!("The client_assertion is not a valid JWT: {e}"),
        )
    })?;
    let unverified = unverified_claims(assertion).ok_or_else(|| {
        fail(
            401,
            "invalid_client",
            "The client_assertion has no readable claims.",
        )
    })?;
    let client_id = unverified
        .get("iss")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            fail(
                401,
                "invalid_client",
                "The client_assertion has no iss claim.",
            )
        })?
        .to_string();
    let client = org
        .oauth_clients
        .iter()
        .find(|c| c.client_id == client_id)
        .cloned()
        .ok_or_else(|| {
            fail(
                401,
                "invalid_client",
                "The client_id is not registered with this authorization server.",
            )
        })?;
    let key = match header.alg {
        Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => {
            DecodingKey::from_rsa_pem(client.public_key_pem.as_bytes())
        }
        Algorithm::ES256 | Algorithm::ES384 => {
            DecodingKey::from_ec_pem(client.public_key_pem.as_bytes())
        }
        _ => {
            return Err(fail(
                401,
                "invalid_client",
                "The client_assertion algorithm is not supported (RS256/384/512, ES256/384).",
            ));
        }
    }
    .map_err(|e| {
        fail(
            401,
            "invalid_client",
            format!("The registered public key is unusable: {e}"),
        )
    })?;
    let mut v = Validation::new(header.alg);
    let auds: Vec<String> = bases
        .iter()
        .map(|b| format!("{b}/oauth2/v1/token"))
        .collect();
    v.set_audience(&auds);
    v.set_issuer(&[client_id.as_str()]);
    v.sub = Some(client_id.clone());
    v.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(assertion, &key, &v)
        .map_err(|e| {
            fail(
                401,
                "invalid_client",
                format!("The client_assertion signature or claims are invalid: {e}"),
            )
        })?
        .claims;
    let now = org.now().timestamp();
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_some_and(|exp| exp > now + 3600 + 60)
    {
        return Err(fail(
            401,
            "invalid_client",
            "The client_assertion expires more than one hour in the future.",
        ));
    }
    let requested: BTreeSet<String> = get("scope")
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if requested.is_empty() {
        return Err(fail(
            400,
            "invalid_scope",
            "The authorization server resource does not have any configured default scopes, 'scope' must be provided.",
        ));
    }
    let denied: Vec<&String> = requested
        .iter()
        .filter(|s| !client.scopes.contains(s))
        .collect();
    if !denied.is_empty() {
        let list: Vec<&str> = denied.iter().map(|s| s.as_str()).collect();
        return Err(fail(
            400,
            "invalid_scope",
            format!("The following scopes are not allowed: {}", list.join(" ")),
        ));
    }
    let access = ids::access_token();
    let expires = org.now() + TimeDelta::seconds(3600);
    org.tokens.insert(
        access.clone(),
        TokenInfo {
            scopes: requested.clone(),
            actor: Actor::app(&client_id),
            expires: Some(expires),
        },
    );
    let scope: Vec<&str> = requested.iter().map(String::as_str).collect();
    Ok(
        json!({"token_type": "Bearer", "expires_in": 3600, "access_token": access, "scope": scope.join(" ")}),
    )
}

/// The claims of a JWT before verification (to find the client).
fn unverified_claims(jwt: &str) -> Option<Value> {
    use base64_lite::decode_url;
    let payload = jwt.split('.').nth(1)?;
    serde_json::from_slice(&decode_url(payload)?).ok()
}

/// Minimal base64url decoding (no padding), enough to read a JWT payload.
mod base64_lite {
    pub fn decode_url(s: &str) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(s.len() * 3 / 4);
        let mut buf = 0u32;
        let mut bits = 0;
        for c in s.bytes() {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'-' | b'+' => 62,
                b'_' | b'/' => 63,
                b'=' => continue,
                _ => return None,
            };
            buf = (buf << 6) | u32::from(v);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((buf >> bits) as u8);
                buf &= (1 << bits) - 1;
            }
        }
        Some(out)
    }

    #[cfg(test)]
    #[test]
    fn decodes() {
        assert_eq!(decode_url("eyJhIjoxfQ").unwrap(), br#"{"a":1}"#);
    }
}
