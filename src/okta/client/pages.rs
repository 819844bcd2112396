//! Okta's cursor pagination: finding `Link: <…>; rel="next"` in the separate-header form Okta emits and in the
//! comma-joined form (RFC 8288 allows both), and re-basing the next URL onto our own base URL.
//!
//! The cursor (`after=…`) is opaque: we never build or decode it, we only follow the URL Okta gave us.

use reqwest::header::{HeaderMap, LINK};
use url::Url;

/// One link-value of a `Link` header: the target and its `rel` tokens (lower-cased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkValue {
    pub target: String,
    pub rels: Vec<String>,
}

/// Parses one `Link` header value that may hold several comma-separated link-values.
/// Commas inside `<…>` and inside quoted parameter values do not split.
pub fn parse_link_header(value: &str) -> Vec<LinkValue> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let after_open = &rest[open + 1..];
        let Some(close) = after_open.find('>') else {
            break;
        };
        let target = after_open[..close].trim().to_string();
        let params_start = &after_open[close + 1..];
        // The parameters run until a comma that is outside quotes.
        let mut in_quotes = false;
        let mut end = params_start.len();
        for (i, c) in params_start.char_indices() {
            match c {
                '"' => in_quotes = !in_quotes,
                ',' if !in_quotes => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let params = &params_start[..end];
        out.push(LinkValue {
            target,
            rels: rels_of(params),
        });
        if end >= params_start.len() {
            break;
        }
        rest = &params_start[end + 1..];
    }
    out
}

fn rels_of(params: &str) -> Vec<String> {
    let mut rels = Vec::new();
    for param in params.split(';') {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("rel") {
            continue;
        }
        let value = value.trim().trim_matches('"');
        rels.extend(value.split_whitespace().map(str::to_ascii_lowercase));
    }
    rels
}

/// The `rel="next"` target among every `Link` header of a response, if any.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_link_header)
        .find(|l| l.rels.iter().any(|r| r == "next"))
        .map(|l| l.target)
}

/// Where to fetch the next page. Okta emits absolute URLs on the org host (sometimes another host than the one
/// we called, e.g. the `-admin` host); we keep its path and query verbatim and send them to our own base URL, so
/// our credential never goes to a host we were not configured for.
pub fn rebase_next(base: &Url, next: &str) -> Option<Url> {
    let parsed = match Url::parse(next) {
        Ok(u) => u,
        // A relative link: resolve against the base.
        Err(url::ParseError::RelativeUrlWithoutBase) => base.join(next).ok()?,
        Err(_) => return None,
    };
    let mut url = base.clone();
    url.set_path(parsed.path());
    url.set_query(parsed.query());
    url.set_fragment(None);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn separate_headers_self_then_next() {
        let mut h = HeaderMap::new();
        h.append(
            LINK,
            HeaderValue::from_static(
                "<https://acme.okta.com/api/v1/users?limit=200>; rel=\"self\"",
            ),
        );
        h.append(
            LINK,
            HeaderValue::from_static(
                "<https://acme.okta.com/api/v1/users?after=00uvo7s8abwP37lV81d7&limit=200>; rel=\"next\"",
            ),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://acme.okta.com/api/v1/users?after=00uvo7s8abwP37lV81d7&limit=200")
        );
    }

    #[test]
    fn comma_joined_form() {
        let mut h = HeaderMap::new();
        h.append(
            LINK,
            HeaderValue::from_static(
                "<https://acme.okta.com/api/v1/logs?limit=100>; rel=\"self\", <https://acme.okta.com/api/v1/logs?after=1658862453660_1&limit=100>; rel=\"next\"",
            ),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://acme.okta.com/api/v1/logs?after=1658862453660_1&limit=100")
        );
    }

    #[test]
    fn only_self_means_last_page() {
        let mut h = HeaderMap::new();
        h.append(
            LINK,
            HeaderValue::from_static(
                "<https://acme.okta.com/api/v1/groups?limit=10000>; rel=\"self\"",
            ),
        );
        assert_eq!(next_link(&h), None);
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn commas_inside_url_and_quotes_do_not_split_and_rel_is_case_insensitive() {
        let v = "<https://x/api/v1/users?search=a%2Cb,c&limit=2>; title=\"a, b\"; REL=\"Self\",<https://x/n?after=z>;rel=next";
        let links = parse_link_header(v);
        assert_eq!(links.len(), 2);
        assert_eq!(
            links[0].target,
            "https://x/api/v1/users?search=a%2Cb,c&limit=2"
        );
        assert_eq!(links[0].rels, vec!["self"]);
        assert_eq!(links[1].target, "https://x/n?after=z");
        assert_eq!(links[1].rels, vec!["next"]);
    }

    #[test]
    fn multi_token_rel() {
        let links = parse_link_header("<https://x/p>; rel=\"self next\"");
        assert_eq!(links[0].rels, vec!["self", "next"]);
    }

    #[test]
    fn garbage_is_ignored() {
        assert!(parse_link_header("not a link").is_empty());
        assert!(parse_link_header("<unterminated; rel=next").is_empty());
    }

    #[test]
    fn rebase_keeps_query_verbatim_and_uses_our_host() {
        let base = Url::parse("http://127.0.0.1:8080").unwrap();
        let next = "https://acme-admin.okta.com/api/v1/users?after=000usf%2Bx&limit=200&search=status+eq+%22ACTIVE%22";
        let url = rebase_next(&base, next).unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8080/api/v1/users?after=000usf%2Bx&limit=200&search=status+eq+%22ACTIVE%22"
        );
        let rel = rebase_next(&base, "/api/v1/groups?after=00g1").unwrap();
        assert_eq!(
            rel.as_str(),
            "http://127.0.0.1:8080/api/v1/groups?after=00g1"
        );
    }
}
