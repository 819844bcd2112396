//! Okta's `search` and `filter` expression language (SCIM-like): parsing, per-endpoint checks of which
//! attributes and operators are allowed, and evaluation against users, groups and log events.
//!
//! Grammar: `expr := and ("or" and)*`, `and := primary ("and" primary)*`,
//! `primary := "(" expr ")" | attr op [value]`, ops `eq sw co pr gt ge lt le` (case-insensitive).
//! `ne` and `not` are refused, as Okta does. Array attributes match when any element matches.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Sw,
    Co,
    Pr,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp { attr: String, op: Op, value: Lit },
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Str(String),
    Word(String),
}

fn tokenize(input: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' {
            chars.next();
            out.push(Tok::Open);
        } else if c == ')' {
            chars.next();
            out.push(Tok::Close);
        } else if c == '"' {
            chars.next();
            let mut s = String::new();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some(e) => s.push(e),
                        None => return Err("unfinished escape in a string".into()),
                    },
                    '"' => {
                        closed = true;
                        break;
                    }
                    _ => s.push(c),
                }
            }
            if !closed {
                return Err("unterminated string".into());
            }
            out.push(Tok::Str(s));
        } else {
            let mut w = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                    break;
                }
                w.push(c);
                chars.next();
            }
            out.push(Tok::Word(w));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.primary()?;
        while self.peek_word("and") {
            self.pos += 1;
            let right = self.primary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Open) => {
                self.pos += 1;
                let e = self.or()?;
                match self.toks.get(self.pos) {
                    Some(Tok::Close) => {
                        self.pos += 1;
                        Ok(e)
                    }
                    _ => Err("missing ')'".into()),
                }
            }
            Some(Tok::Word(attr)) => {
                if attr.eq_ignore_ascii_case("not") {
                    return Err("'not' is not supported".into());
                }
                self.pos += 1;
                let op = match self.toks.get(self.pos) {
                    Some(Tok::Word(op)) => op.to_ascii_lowercase(),
                    _ => return Err(format!("an operator must follow {attr}")),
                };
                self.pos += 1;
                let op = match op.as_str() {
                    "eq" => Op::Eq,
                    "sw" => Op::Sw,
                    "co" => Op::Co,
                    "pr" => Op::Pr,
                    "gt" => Op::Gt,
                    "ge" => Op::Ge,
                    "lt" => Op::Lt,
                    "le" => Op::Le,
                    other => return Err(format!("unsupported operator {other}")),
                };
                if op == Op::Pr {
                    return Ok(Expr::Cmp {
                        attr,
                        op,
                        value: Lit::Null,
                    });
                }
                let value = match self.toks.get(self.pos).cloned() {
                    Some(Tok::Str(s)) => Lit::Str(s),
                    Some(Tok::Word(w)) => {
                        if w.eq_ignore_ascii_case("true") {
                            Lit::Bool(true)
                        } else if w.eq_ignore_ascii_case("false") {
                            Lit::Bool(false)
                        } else if w.eq_ignore_ascii_case("null") {
                            Lit::Null
                        } else if let Ok(n) = w.parse::<f64>() {
                            Lit::Num(n)
                        } else {
                            return Err(format!("bad value {w}"));
                        }
                    }
                    _ => return Err(format!("a value must follow {attr}")),
                };
                self.pos += 1;
                Ok(Expr::Cmp { attr, op, value })
            }
            _ => Err("expected an attribute or '('".into()),
        }
    }
}

/// Parses an expression; the error says what is wrong (the caller answers E0000031).
pub fn parse(input: &str) -> Result<Expr, String> {
    let toks = tokenize(input)?;
    if toks.is_empty() {
        return Err("empty expression".into());
    }
    let mut p = Parser { toks, pos: 0 };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err("unexpected text after the expression".into());
    }
    Ok(e)
}

impl Expr {
    /// Checks every comparison with `allowed(attr, op)`.
    pub fn check(&self, allowed: &dyn Fn(&str, Op) -> bool) -> Result<(), String> {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.check(allowed)?;
                b.check(allowed)
            }
            Expr::Cmp { attr, op, .. } => {
                if allowed(attr, *op) {
                    Ok(())
                } else {
                    Err(format!("{attr} {op:?} is not supported here"))
                }
            }
        }
    }

    /// True when `obj` matches. `case_insensitive` is Okta's `search` (filter values are case-sensitive).
    pub fn matches(&self, obj: &dyn Lookup, case_insensitive: bool) -> bool {
        match self {
            Expr::And(a, b) => a.matches(obj, case_insensitive) && b.matches(obj, case_insensitive),
            Expr::Or(a, b) => a.matches(obj, case_insensitive) || b.matches(obj, case_insensitive),
            Expr::Cmp { attr, op, value } => match obj.field(attr) {
                None => false,
                Some(v) => match v.as_ref() {
                    Value::Null => false,
                    Value::Array(items) => {
                        if *op == Op::Pr {
                            !items.is_empty()
                        } else {
                            items.iter().any(|i| cmp(i, *op, value, case_insensitive))
                        }
                    }
                    other => cmp(other, *op, value, case_insensitive),
                },
            },
        }
    }
}

/// What an expression is evaluated against: a value for an attribute path (`status`, `profile.city`).
pub trait Lookup {
    fn field(&self, attr: &str) -> Option<Cow<'_, Value>>;
}

/// Path lookup in a JSON object; arrays met on the way collect every element's value (`target.id`).
impl Lookup for Value {
    fn field(&self, attr: &str) -> Option<Cow<'_, Value>> {
        let mut cur: Vec<&Value> = vec![self];
        for part in attr.split('.') {
            let mut next = Vec::new();
            for v in cur {
                match v {
                    Value::Object(m) => {
                        if let Some(x) = m.get(part) {
                            next.push(x);
                        }
                    }
                    Value::Array(items) => {
                        for i in items {
                            if let Some(x) = i.get(part) {
                                next.push(x);
                            }
                        }
                    }
                    _ => {}
                }
            }
            cur = next;
        }
        match cur.len() {
            0 => None,
            1 => Some(Cow::Borrowed(cur[0])),
            _ => Some(Cow::Owned(Value::Array(cur.into_iter().cloned().collect()))),
        }
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn cmp(v: &Value, op: Op, lit: &Lit, ci: bool) -> bool {
    use std::cmp::Ordering;
    if op == Op::Pr {
        return !v.is_null();
    }
    let ord: Option<Ordering> = match (v, lit) {
        (Value::String(a), Lit::Str(b)) => {
            if matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le)
                && let (Some(ta), Some(tb)) = (parse_time(a), parse_time(b))
            {
                Some(ta.cmp(&tb))
            } else {
                let (a, b): (Cow<str>, Cow<str>) = if ci {
                    (Cow::Owned(a.to_lowercase()), Cow::Owned(b.to_lowercase()))
                } else {
                    (Cow::Borrowed(a.as_str()), Cow::Borrowed(b.as_str()))
                };
                match op {
                    Op::Sw => return a.starts_with(b.as_ref()),
                    Op::Co => return a.contains(b.as_ref()),
                    _ => Some(a.as_ref().cmp(b.as_ref())),
                }
            }
        }
        (Value::Number(a), Lit::Num(b)) => a.as_f64().and_then(|a| a.partial_cmp(b)),
        (Value::Number(a), Lit::Str(b)) => match (a.as_f64(), b.parse::<f64>()) {
            (Some(a), Ok(b)) => a.partial_cmp(&b),
            _ => None,
        },
        (Value::Bool(a), Lit::Bool(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Lit::Str(b)) => Some(a.to_string().cmp(&b.to_ascii_lowercase())),
        _ => None,
    };
    match (ord, op) {
        (Some(o), Op::Eq) => o == Ordering::Equal,
        (Some(o), Op::Gt) => o == Ordering::Greater,
        (Some(o), Op::Ge) => o != Ordering::Less,
        (Some(o), Op::Lt) => o == Ordering::Less,
        (Some(o), Op::Le) => o != Ordering::Greater,
        _ => false,
    }
}

const DATES: &[&str] = &[
    "created",
    "activated",
    "statusChanged",
    "lastUpdated",
    "lastMembershipUpdated",
    "passwordChanged",
    "lastLogin",
];

/// `search` on `/api/v1/users`.
pub fn users_search(attr: &str, op: Op) -> bool {
    let top = matches!(attr, "id" | "status" | "type.id") || DATES.contains(&attr);
    let profile = attr.strip_prefix("profile.").is_some_and(|a| !a.is_empty());
    if !(top || profile) {
        return false;
    }
    match op {
        Op::Co => matches!(
            attr,
            "profile.firstName" | "profile.lastName" | "profile.email" | "profile.login"
        ),
        _ => true,
    }
}

/// `filter` on `/api/v1/users`: a few attributes, `eq` only except on `lastUpdated`.
pub fn users_filter(attr: &str, op: Op) -> bool {
    match attr {
        "lastUpdated" => matches!(op, Op::Eq | Op::Gt | Op::Ge | Op::Lt | Op::Le),
        "status" | "id" | "profile.login" | "profile.email" | "profile.firstName"
        | "profile.lastName" => op == Op::Eq,
        _ => false,
    }
}

/// `search` on `/api/v1/groups`.
pub fn groups_search(attr: &str, op: Op) -> bool {
    let top = matches!(attr, "id" | "type" | "source.id") || DATES.contains(&attr);
    let profile = attr.strip_prefix("profile.").is_some_and(|a| !a.is_empty());
    if !(top || profile) {
        return false;
    }
    match op {
        Op::Co => matches!(attr, "profile.name" | "profile.description"),
        _ => true,
    }
}

/// `filter` on `/api/v1/groups`: `id`, `type`, and the two dates.
pub fn groups_filter(attr: &str, op: Op) -> bool {
    match attr {
        "id" | "type" => op == Op::Eq,
        "lastUpdated" | "lastMembershipUpdated" => {
            matches!(op, Op::Eq | Op::Gt | Op::Ge | Op::Lt | Op::Le)
        }
        _ => false,
    }
}

/// `filter` on `/api/v1/logs` (`published` may not be used).
pub fn logs_filter(attr: &str, op: Op) -> bool {
    let known = matches!(
        attr,
        "eventType"
            | "uuid"
            | "severity"
            | "displayMessage"
            | "outcome.result"
            | "actor.id"
            | "actor.type"
            | "actor.alternateId"
            | "actor.displayName"
            | "target.id"
            | "target.type"
            | "target.alternateId"
            | "target.displayName"
    );
    known && matches!(op, Op::Eq | Op::Sw | Op::Co | Op::Pr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(expr: &str, v: &Value, ci: bool) -> bool {
        parse(expr).unwrap().matches(v, ci)
    }

    #[test]
    fn parses_and_evaluates_okta_expressions() {
        let u = json!({"status":"ACTIVE","lastUpdated":"2025-03-01T10:00:00.000Z",
            "profile":{"department":"R&D","skills":["rust","Go"],"level":3}});
        assert!(m(r#"status eq "ACTIVE""#, &u, true));
        assert!(m(r#"status EQ "active""#, &u, true));
        assert!(!m(r#"status eq "active""#, &u, false));
        assert!(m(r#"profile.skills eq "go""#, &u, true));
        assert!(m(
            r#"profile.department eq "R&D" and (status eq "X" or status eq "ACTIVE")"#,
            &u,
            true
        ));
        assert!(m(r#"lastUpdated gt "2025-01-01T00:00:00.000Z""#, &u, true));
        assert!(!m(r#"lastUpdated lt "2025-03-01T10:00:00.000Z""#, &u, true));
        assert!(m(r#"lastUpdated le "2025-03-01T10:00:00.000Z""#, &u, true));
        assert!(m(r#"lastUpdated ge "2025-03-01T10:00:00.000Z""#, &u, true));
        assert!(m("profile.level eq 3", &u, true));
        assert!(m("profile.department pr", &u, true));
        assert!(!m("profile.city pr", &u, true));
        assert!(m(r#"(status lt "STAGED" or status gt "STAGED")"#, &u, true));
    }

    #[test]
    fn refuses_what_okta_refuses() {
        assert!(parse(r#"status ne "ACTIVE""#).is_err());
        assert!(parse(r#"not status eq "ACTIVE""#).is_err());
        assert!(parse(r#"status eq"#).is_err());
        assert!(parse(r#"(status eq "A""#).is_err());
        assert!(parse(r#"status eq "A" x"#).is_err());
        assert!(parse("").is_err());
        let e = parse(r#"profile.city co "x""#).unwrap();
        assert!(e.check(&users_search).is_err());
        let e = parse(r#"lastUpdated gt "2025-01-01T00:00:00.000Z""#).unwrap();
        assert!(e.check(&users_filter).is_ok());
        let e = parse(r#"status gt "A""#).unwrap();
        assert!(e.check(&users_filter).is_err());
    }

    #[test]
    fn log_targets_match_any_element() {
        let ev =
            json!({"eventType":"group.user_membership.add","target":[{"id":"00u1"},{"id":"00g1"}]});
        assert!(m(r#"target.id eq "00g1""#, &ev, false));
        assert!(!m(r#"target.id eq "00g2""#, &ev, false));
    }
}
