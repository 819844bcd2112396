//! Making untrusted text (attribute values, group names, rule ids from a pull request's config) inert in
//! GitHub-flavoured Markdown.
//!
//! Why code spans: inside a code span GitHub renders no HTML, no links or autolinks, no emphasis, no
//! `@mentions`, no `#123` references and no `:emoji:` shortcodes, so the only things left to neutralise are
//! the span's own delimiter (backticks: we pick a longer delimiter), table cell breaks (`|` and line breaks),
//! and characters that change how the *surrounding* text looks: control characters and Unicode bidi/format
//! characters (RTL overrides, zero-width spaces), which are shown as visible `\u{..}` escapes instead.

/// Longest value shown in a table cell; longer values are cut with `…`.
pub const MAX_CELL_CHARS: usize = 80;

/// True for characters we never pass through, even in code: C0/C1 controls, DEL, bidi controls, zero-width
/// and other invisible format characters, line/paragraph separators, interlinear annotations, tag characters.
/// ZWJ (U+200D) and variation selectors stay: emoji sequences need them and they change nothing around them.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'
                | '\u{200C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// `raw` with hidden characters shown as `\u{XXXX}` and cut to `max_chars` (then ending in `…`).
/// The result is plain text with no line breaks; it still needs a Markdown context (see [`code_span`]).
pub fn visible(raw: &str, max_chars: usize) -> String {
    let mut out = String::new();
    let mut count = 0usize;
    for c in raw.chars() {
        let piece = if is_hidden(c) {
            format!("\\u{{{:04X}}}", c as u32)
        } else {
            c.to_string()
        };
        let len = piece.chars().count();
        if count + len > max_chars {
            out.push('…');
            return out;
        }
        count += len;
        out.push_str(&piece);
    }
    out
}

/// `raw` as an inert inline code span, cut to `max_chars`. With `in_table`, `|` is escaped as `\|` (GFM
/// table cells honour that escape even inside code spans; outside tables the backslash would show).
pub fn code_span(raw: &str, max_chars: usize, in_table: bool) -> String {
    let mut text = visible(raw, max_chars);
    if text.is_empty() {
        return "*(empty)*".to_string();
    }
    if in_table {
        text = text.replace('|', "\\|");
    }
    let longest = longest_run(&text, '`');
    let fence = "`".repeat(longest + 1);
    // CommonMark strips one space from each end when both are present, and a leading/trailing backtick
    // would merge with the delimiter: pad in those cases so the value shows exactly.
    let pad = text.starts_with('`')
        || text.ends_with('`')
        || (text.starts_with(' ') && text.ends_with(' ') && text.chars().any(|c| c != ' '));
    if pad {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

/// A value for a table cell: an inert code span of at most [`MAX_CELL_CHARS`] characters.
pub fn cell(raw: &str) -> String {
    code_span(raw, MAX_CELL_CHARS, true)
}

/// A value in running text (lists, headings, `<summary>`): an inert code span.
pub fn inline(raw: &str) -> String {
    code_span(raw, MAX_CELL_CHARS, false)
}

/// A fenced code block holding `text` (lines already made [`visible`]); the fence is longer than any
/// backtick run inside so the content cannot close it.
pub fn code_block(lang: &str, text: &str) -> String {
    let fence = "`".repeat((longest_run(text, '`') + 1).max(3));
    let mut out = format!("{fence}{lang}\n{text}");
    if !text.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&fence);
    out.push('\n');
    out
}

fn longest_run(text: &str, ch: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for c in text.chars() {
        if c == ch {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_are_wrapped_in_code() {
        assert_eq!(cell("Engineering"), "`Engineering`");
        assert_eq!(cell(""), "*(empty)*");
    }

    #[test]
    fn markdown_html_and_mentions_stay_inside_the_span() {
        let v = cell("**x** <img src=x onerror=alert(1)> [a](https://e.vil) @admin #1 :smile:");
        assert!(v.starts_with('`') && v.ends_with('`'));
        assert_eq!(v.matches('`').count(), 2, "{v}");
    }

    #[test]
    fn backticks_get_a_longer_delimiter() {
        assert_eq!(cell("a`b"), "``a`b``");
        assert_eq!(cell("`x`"), "`` `x` ``");
        assert_eq!(cell("```"), "```` ``` ````");
    }

    #[test]
    fn table_breaks_are_neutralised() {
        let v = cell("a|b\nc\r\n| --- |");
        assert!(!v.contains('\n') && !v.contains('\r'));
        assert!(!v.replace("\\|", "").contains('|'), "{v}");
        assert!(v.contains("\\u{000A}"));
        // outside a table the pipe stays as it is
        assert_eq!(inline("a|b"), "`a|b`");
    }

    #[test]
    fn hidden_characters_are_shown() {
        let v = visible("abc\u{202E}def\u{200B}\u{0007}\u{FEFF}", 100);
        assert_eq!(v, "abc\\u{202E}def\\u{200B}\\u{0007}\\u{FEFF}");
        assert_eq!(visible("👩‍💻 ok", 100), "👩‍💻 ok");
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(10_000);
        let v = cell(&long);
        assert_eq!(v.chars().count(), MAX_CELL_CHARS + 1 + 2);
        assert!(v.ends_with("…`"));
        // never cut inside an escape
        let v = visible(&"\u{202E}".repeat(50), 20);
        assert_eq!(v, format!("{}…", "\\u{202E}".repeat(2)));
    }

    #[test]
    fn spaces_at_both_ends_survive() {
        assert_eq!(cell(" a "), "`  a  `");
        assert_eq!(cell("  "), "`  `");
    }

    #[test]
    fn code_block_fence_cannot_be_closed_from_inside() {
        let b = code_block("diff", "+a\n```\n+b");
        assert!(b.starts_with("````diff\n"));
        assert!(b.ends_with("\n````\n"));
    }
}
