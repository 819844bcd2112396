//! Making untrusted strings (attribute values typed by HR or by users themselves) safe to show:
//! inert inline Markdown for pull-request comments, and terminal-safe text.

/// Longest value shown in Markdown, in characters (longer ones end with `…`).
pub const MARKDOWN_MAX_CHARS: usize = 80;

const ZWJ: char = '\u{200D}';

/// Bidi embeddings, overrides and isolates, and marks that can reorder what a reader sees.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Makes `s` inert inside GitHub-flavoured Markdown (a paragraph or a table cell): no HTML, no links or
/// autolinks, no @mentions or #references, no emphasis, no table breaking, one line, bounded length.
///
/// How: control characters (incl. newlines) become spaces; bidi controls are dropped; every ASCII
/// punctuation character that Markdown gives meaning to is backslash-escaped (CommonMark allows escaping any
/// ASCII punctuation; `\|` also works in GFM tables); `@` and `#` are followed by a zero-width joiner, which
/// GitHub's mention and issue-reference matchers do not cross; `://` and `www.` are broken the same way so
/// no autolink forms.
pub fn markdown_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let chars: Vec<char> = s.chars().filter(|c| !is_bidi_control(*c)).collect();
    let truncated = chars.len() > MARKDOWN_MAX_CHARS;
    let chars = &chars[..chars.len().min(MARKDOWN_MAX_CHARS)];
    for (i, &c) in chars.iter().enumerate() {
        match c {
            c if c.is_control() => out.push(' '),
            '@' | '#' => {
                out.push('\\');
                out.push(c);
                out.push(ZWJ);
            }
            ':' if chars.get(i + 1) == Some(&'/') => {
                out.push(':');
                out.push(ZWJ);
            }
            '.' if i >= 3
                && chars[i - 3..i]
                    .iter()
                    .collect::<String>()
                    .eq_ignore_ascii_case("www") =>
            {
                out.push(ZWJ);
                out.push('\\');
                out.push('.');
            }
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '<' | '>' | '+' | '-'
            | '.' | '!' | '|' | '~' | '&' | '=' | '$' | '%' | '^' | '"' | '\'' | '/' | ':'
            | ';' | '?' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    if truncated {
        out.push('…');
    }
    out
}

/// Makes `s` safe for a terminal: control characters (ANSI escapes, newlines) and bidi controls are shown
/// as `\u{..}` instead of acting.
pub fn terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || is_bidi_control(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_inert() {
        let nasty = "<img src=x> [click](http://evil.example) **bold** @octocat #12 | x";
        let out = markdown_inline(nasty);
        // every character with a Markdown meaning is escaped
        let chars: Vec<char> = out.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            if "<>[]()*|".contains(*c) {
                assert_eq!(chars[i - 1], '\\', "{c} at {i} in {out}");
            }
        }
        assert!(!out.contains("http://"), "{out}");
        assert!(out.contains("\\@\u{200D}octocat"), "{out}");
        assert!(out.contains("\\#\u{200D}12"), "{out}");
        assert!(out.contains("\\|"), "{out}");
        assert!(!markdown_inline("see www.example.com").contains("www."));
        assert!(!markdown_inline("ana@example.com").contains("a@e"));
    }

    #[test]
    fn controls_bidi_and_length() {
        assert_eq!(markdown_inline("a\nb\rc\u{1b}[31m"), "a b c \\[31m");
        assert_eq!(markdown_inline("abc\u{202E}def\u{2066}"), "abcdef");
        let long = "x".repeat(500);
        let out = markdown_inline(&long);
        assert_eq!(out.chars().count(), MARKDOWN_MAX_CHARS + 1);
        assert!(out.ends_with('…'));
        assert_eq!(markdown_inline("Zürich Sales"), "Zürich Sales");
    }

    #[test]
    fn terminal_shows_controls() {
        assert_eq!(terminal("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\\u{a}");
        assert_eq!(terminal("x\u{202E}y"), "x\\u{202e}y");
    }
}
