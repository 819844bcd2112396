//! Okta-style identifiers: object ids (`00u`/`00g` + 17 alphanumerics), `errorId`s, request ids, tokens.

use rand::Rng;

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn alnum(rng: &mut impl Rng, n: usize) -> String {
    (0..n)
        .map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char)
        .collect()
}

/// `prefix` (e.g. `00u`, `00g`) followed by alphanumerics up to Okta's 20 characters.
pub fn object_id(rng: &mut impl Rng, prefix: &str) -> String {
    let n = 20usize.saturating_sub(prefix.len()).max(1);
    format!("{prefix}{}", alnum(rng, n))
}

/// `oae` + 22 characters, as in Okta's error bodies.
pub fn error_id() -> String {
    format!("oae{}", alnum(&mut rand::rng(), 22))
}

/// 32 hex characters, as Okta's `X-Okta-Request-Id` since 2025.
pub fn request_id() -> String {
    let mut rng = rand::rng();
    (0..32)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// An opaque access token for the OAuth face.
pub fn access_token() -> String {
    format!("eyEmu.{}", alnum(&mut rand::rng(), 40))
}

/// A System Log event uuid (8-4-4-4-12 hex).
pub fn uuid(rng: &mut impl Rng) -> String {
    let hex: String = (0..32)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ids_have_okta_shape() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let u = object_id(&mut rng, "00u");
        assert_eq!(u.len(), 20);
        assert!(u.starts_with("00u") && u.chars().all(|c| c.is_ascii_alphanumeric()));
        let e = error_id();
        assert_eq!(e.len(), 25);
        assert!(e.starts_with("oae"));
        assert_eq!(request_id().len(), 32);
        assert_eq!(uuid(&mut rng).len(), 36);
    }
}
