//! Guards run before any YAML is materialised: size, binary content, UTF-8, then a counting pass that walks the
//! document (aliases expanded lazily by serde_yaml) and stops at a node budget or a depth limit, so an alias bomb
//! or a deeply nested file is refused after bounded work and before any `Value` is built.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Largest config file we read (also enforced by `source`, which does not even load bigger files).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Most YAML nodes a file may expand to (aliases counted every time they are used).
pub const MAX_NODES: usize = 200_000;
/// Deepest nesting of lists and mappings (the real files need 5).
pub const MAX_DEPTH: usize = 32;

/// A guard refused the file: where and why (1-based position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

fn refuse(line: usize, column: usize, message: impl Into<String>) -> Refusal {
    Refusal {
        line,
        column,
        message: message.into(),
    }
}

/// Bytes -> text: refuses huge, binary and non-UTF-8 files. Strips a UTF-8 byte-order mark.
pub fn text(bytes: &[u8]) -> Result<&str, Refusal> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(refuse(
            1,
            1,
            format!(
                "file is {} bytes; config files are limited to {} bytes (1 MiB): split it or remove what is not config",
                bytes.len(),
                MAX_FILE_BYTES
            ),
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Some(at) = bytes.iter().position(|b| *b == 0) {
        let (line, column) = line_col(bytes, at);
        return Err(refuse(
            line,
            column,
            "binary file (contains a NUL byte), not YAML text: remove it or move it out of the config repository",
        ));
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) => {
            let (line, column) = line_col(bytes, e.valid_up_to());
            Err(refuse(
                line,
                column,
                "invalid UTF-8: save the file as UTF-8 text",
            ))
        }
    }
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_col(bytes: &[u8], at: usize) -> (usize, usize) {
    let before = &bytes[..at.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

const BUDGET_MSG: &str = "\u{1}budget\u{1}";
const DEPTH_MSG: &str = "\u{1}depth\u{1}";

/// Parses the document once without keeping anything, counting nodes and depth. A YAML syntax error is returned
/// as a refusal with serde_yaml's message and position.
pub fn walk(text: &str) -> Result<(), Refusal> {
    nesting(text)?;
    let budget = Cell::new(MAX_NODES);
    let de = serde_yaml::Deserializer::from_str(text);
    match (Count {
        budget: &budget,
        depth: 0,
    })
    .deserialize(de)
    {
        Ok(()) => Ok(()),
        Err(e) => {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            let raw = e.to_string();
            let message = if raw.contains(BUDGET_MSG) || raw.contains("repetition limit exceeded") {
                format!(
                    "the document expands to more than {MAX_NODES} values (YAML aliases used as a bomb?); dyngroups files are small: write values out instead of repeating aliases"
                )
            } else if raw.contains(DEPTH_MSG) || raw.contains("recursion limit exceeded") {
                format!("nested deeper than {MAX_DEPTH} levels; dyngroups files need at most 5")
            } else {
                syntax_message(&raw)
            };
            Err(refuse(line, column, message))
        }
    }
}

/// How deep [`nesting`] lets a file go before serde_yaml sees it. Looser than [`MAX_DEPTH`] (which `walk` enforces
/// exactly) so that an odd plain scalar never trips it, and small enough that the parser's work stays trivial.
const SCAN_DEPTH: usize = 2 * MAX_DEPTH;

fn too_deep(bytes: &[u8], at: usize) -> Refusal {
    let (line, column) = line_col(bytes, at);
    refuse(
        line,
        column,
        format!("nested deeper than {MAX_DEPTH} levels; dyngroups files need at most 5"),
    )
}

/// One linear pass over the bytes that bounds nesting before serde_yaml parses anything: libyaml's parse is
/// quadratic in flow depth (100,000 levels of `[`, a 200 KB file, took a minute), so depth must be refused first.
/// Counts flow collections (`[`, `{` where a node starts, every one inside flow) and block indentation levels
/// (including compact `- - x`), skipping quoted scalars, comments and block scalars (`|`, `>`).
fn nesting(text: &str) -> Result<(), Refusal> {
    let b = text.as_bytes();
    let mut flow = 0usize;
    let mut indents: Vec<usize> = Vec::new();
    let mut block_scalar: Option<usize> = None;
    let mut quote: Option<u8> = None;
    let mut start = 0usize;
    while start < b.len() {
        let end = b[start..]
            .iter()
            .position(|c| *c == b'\n')
            .map_or(b.len(), |p| start + p);
        let line = &b[start..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let indent = line.iter().take_while(|c| **c == b' ').count();
        let blank = line[indent..].iter().all(|c| c.is_ascii_whitespace());
        let mut j = 0;
        let mut node_start = false;
        if quote.is_none() {
            if let Some(base) = block_scalar {
                if blank || indent > base {
                    start = end + 1;
                    continue;
                }
                block_scalar = None;
            }
            if blank || line[indent] == b'#' {
                start = end + 1;
                continue;
            }
            j = indent;
            node_start = true;
            if flow == 0 {
                while indents.last().is_some_and(|t| *t > indent) {
                    indents.pop();
                }
                if indents.last().is_none_or(|t| *t < indent) {
                    indents.push(indent);
                }
                while j < line.len()
                    && line[j] == b'-'
                    && line.get(j + 1).is_none_or(|n| *n == b' ')
                {
                    j += 1;
                    while j < line.len() && line[j] == b' ' {
                        j += 1;
                    }
                    if j < line.len() {
                        indents.push(j);
                    }
                }
                if indents.len() > SCAN_DEPTH {
                    return Err(too_deep(b, start + indent));
                }
            }
        }
        let mut prev_space = true;
        while j < line.len() {
            let c = line[j];
            match quote {
                Some(b'"') => {
                    if c == b'\\' {
                        j += 1;
                    } else if c == b'"' {
                        quote = None;
                    }
                }
                Some(_) => {
                    if c == b'\'' {
                        if line.get(j + 1) == Some(&b'\'') {
                            j += 1;
                        } else {
                            quote = None;
                        }
                    }
                }
                None => {
                    let spaced_after = line.get(j + 1).is_none_or(|n| *n == b' ' || *n == b'\t');
                    match c {
                        b'#' if prev_space => break,
                        b' ' | b'\t' => {}
                        b'"' | b'\'' if node_start => {
                            quote = Some(c);
                            node_start = false;
                        }
                        b'[' | b'{' if flow > 0 || node_start => {
                            flow += 1;
                            if flow > SCAN_DEPTH {
                                return Err(too_deep(b, start + j));
                            }
                            node_start = true;
                        }
                        b']' | b'}' if flow > 0 => {
                            flow -= 1;
                            node_start = false;
                        }
                        b',' if flow > 0 => node_start = true,
                        b':' | b'-' | b'?' if spaced_after => node_start = true,
                        b'|' | b'>' if node_start && flow == 0 => {
                            block_scalar = Some(indent);
                            break;
                        }
                        _ => node_start = false,
                    }
                }
            }
            prev_space = c == b' ' || c == b'\t';
            j += 1;
        }
        start = end + 1;
    }
    Ok(())
}

/// serde_yaml's message without the " at line L column C" parts (we print the position first), as a sentence.
pub fn syntax_message(raw: &str) -> String {
    if raw.contains("more than one document") {
        return "the file holds more than one YAML document (`---`); keep one document per file"
            .to_string();
    }
    if let Some(key) = raw.strip_prefix("duplicate entry with key ") {
        let key: String = key
            .trim_matches('"')
            .chars()
            .take(60)
            .filter(|c| !c.is_control())
            .collect();
        return format!("key `{key}` appears twice in the same mapping; keep one");
    }
    // "did not find expected ',' or ']' at line 2 column 2, while parsing a flow sequence at line 1 column 4"
    let mut out = String::new();
    let mut rest = raw;
    let mut first = true;
    while let Some(i) = rest.find(" at line ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + " at line ".len()..];
        let (line, tail) = after.split_once(" column ").unwrap_or((after, ""));
        let col_len = tail
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(tail.len());
        if !first {
            out.push_str(&format!(" that starts at {}:{}", line, &tail[..col_len]));
        }
        first = false;
        rest = &tail[col_len..];
    }
    out.push_str(rest);
    format!("YAML syntax error: {}", out.trim())
}

struct Count<'b> {
    budget: &'b Cell<usize>,
    depth: usize,
}

impl Count<'_> {
    fn spend<E: de::Error>(&self) -> Result<(), E> {
        let left = self.budget.get();
        if left == 0 {
            return Err(E::custom(BUDGET_MSG));
        }
        self.budget.set(left - 1);
        Ok(())
    }
    fn child(&self) -> Count<'_> {
        Count {
            budget: self.budget,
            depth: self.depth + 1,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Count<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Count<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.spend()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.spend()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.spend()
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.spend()
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.spend()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.spend()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.spend()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.spend()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.spend()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.spend()?;
        d.deserialize_any(self)
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        // A tagged value (`!tag value`): count the tag and its content.
        use de::VariantAccess;
        self.spend()?;
        let (_, variant): (de::IgnoredAny, _) = data.variant()?;
        variant.newtype_variant_seed(self.child())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.spend()?;
        if self.depth >= MAX_DEPTH {
            return Err(de::Error::custom(DEPTH_MSG));
        }
        while seq.next_element_seed(self.child())?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.spend()?;
        if self.depth >= MAX_DEPTH {
            return Err(de::Error::custom(DEPTH_MSG));
        }
        while map.next_key_seed(self.child())?.is_some() {
            map.next_value_seed(self.child())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_binary_huge_and_bad_utf8_with_positions() {
        assert!(
            text(b"a: 1\n\0")
                .unwrap_err()
                .message
                .starts_with("binary file")
        );
        let big = vec![b'a'; MAX_FILE_BYTES as usize + 1];
        assert!(text(&big).unwrap_err().message.contains("1 MiB"));
        let e = text(b"a: 1\nb: \xff\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 4));
        assert_eq!(text(b"\xEF\xBB\xBFa: 1").unwrap(), "a: 1");
    }

    #[test]
    fn alias_bomb_is_stopped() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            doc.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
        }
        let e = walk(&doc).unwrap_err();
        assert!(e.message.contains("aliases used as a bomb"), "{e:?}");
    }

    #[test]
    fn deep_nesting_is_stopped() {
        // Half a MiB of nesting: refused after bounded work, no stack overflow.
        let doc = format!("{}{}", "[".repeat(500_000), "]".repeat(500_000));
        assert!(walk(&doc).unwrap_err().message.contains("nested deeper"));
        let doc = "a:\n".to_string()
            + &(1..700)
                .map(|i| format!("{}a:\n", "  ".repeat(i)))
                .collect::<String>();
        assert!(walk(&doc).unwrap_err().message.contains("nested deeper"));
        let doc = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        let e = walk(&doc).unwrap_err();
        assert!(e.message.contains("nested deeper"), "{e:?}");
    }

    #[test]
    fn the_nesting_scan_is_linear_and_ignores_brackets_in_text() {
        // 100,000 levels (200 KB) are refused by the byte scan, at the level past the limit, before serde_yaml.
        let doc = format!("rules: {}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = nesting(&doc).unwrap_err();
        assert!(e.message.contains("nested deeper"), "{e:?}");
        assert_eq!((e.line, e.column), (1, 8 + SCAN_DEPTH));
        let doc = format!(
            "a:\n  b: {}x{}\n",
            "{k: ".repeat(100_000),
            "}".repeat(100_000)
        );
        assert_eq!(nesting(&doc).unwrap_err().line, 2);
        // Brackets in plain, quoted and block scalars and in comments are text, not nesting.
        let many = "[".repeat(200);
        let ok = format!(
            "a: x{many}\nb: \"{many}\"\nc: '{many}'\nd: |\n  {many}\n    {many}\ne: 1 # {many}\nf: [[1, \"]\"], {{g: '}}'}}]\n"
        );
        nesting(&ok).unwrap();
        assert!(walk(&ok).is_ok());
        // Real files (5 levels, compact sequences) pass.
        nesting("rules:\n  - attribute: department\n    prefix: d\n    aliases:\n      - - a\n        - b\n").unwrap();
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = walk("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.message.starts_with("YAML syntax error: "), "{e:?}");
        assert_eq!(
            e.message,
            "YAML syntax error: did not find expected ',' or ']', while parsing a flow sequence that starts at 1:4"
        );
        assert_eq!((e.line, e.column), (2, 2));
        assert!(walk("a: {b: [1, 2]}\n").is_ok());
    }
}
