//! The hidden marker that identifies dyngroups' assess comment on a pull request, one per instance, so that
//! every push updates the same comment instead of adding a new one. Its format is a public contract.

/// `<!-- dyngroups:assess instance=NAME -->`. The instance name is reduced to `[A-Za-z0-9._-]` (others
/// become `_`) so that no name can end the HTML comment early or make two markers ambiguous.
pub fn marker(instance: &str) -> String {
    let mut safe: String = instance
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    // `--` may not appear inside an HTML comment.
    while safe.contains("--") {
        safe = safe.replace("--", "_-");
    }
    let safe = if safe.is_empty() {
        "_".to_string()
    } else {
        safe
    };
    format!("<!-- dyngroups:assess instance={safe} -->")
}

/// True when `body` carries `marker` on a line of its own (a comment that merely quotes the marker inside
/// other text does not count).
pub fn has_marker(body: &str, marker: &str) -> bool {
    body.lines().any(|line| line.trim() == marker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_is_stable() {
        assert_eq!(marker("prod"), "<!-- dyngroups:assess instance=prod -->");
        assert_eq!(
            marker("eu-west.1"),
            "<!-- dyngroups:assess instance=eu-west.1 -->"
        );
    }

    #[test]
    fn hostile_names_cannot_break_the_comment() {
        let m = marker("x --> <img src=x> @admin");
        assert_eq!(m.matches("-->").count(), 1);
        assert!(!m.contains('<') || m.starts_with("<!--") && m.matches('<').count() == 1);
        assert!(!m.contains('@'));
        assert_eq!(marker(""), "<!-- dyngroups:assess instance=_ -->");
        let m = marker("a---b");
        assert!(
            !m["<!--".len()..m.len() - "-->".len()].contains("--"),
            "{m}"
        );
    }

    #[test]
    fn found_only_on_its_own_line() {
        let m = marker("prod");
        assert!(has_marker(&format!("{m}\nhello"), &m));
        assert!(has_marker(&format!("hello\r\n  {m}  \r\nbye"), &m));
        assert!(!has_marker(&format!("see `{m}`"), &m));
        assert!(!has_marker("<!-- dyngroups:assess instance=prod2 -->", &m));
    }
}
