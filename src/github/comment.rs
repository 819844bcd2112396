//! The assess comment as GitHub Markdown: hidden marker, one summary line, what the pull request changes,
//! a table per rule (long parts folded in `<details>`), stop-managing and warnings — shrunk, when needed, to
//! fit a size limit with a note saying what was left out. It carries only group names, raw attribute values
//! and counts: never logins, emails or names (the plan holds none of them outside user ids, never shown).

use std::fmt::Write as _;

use crate::plan::model::Plan;

use super::diff::PlanDiff;
use super::escape;
use super::marker::marker;
use super::sections::{self, Detail, Omitted};

/// GitHub rejects comment bodies longer than this many characters (422 "Body is too long").
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;
/// What we aim for: a margin below GitHub's limit, counted in UTF-16 units (never fewer than characters).
pub const COMMENT_BUDGET: usize = 60_000;
/// `$GITHUB_STEP_SUMMARY` accepts at most 1 MiB per step.
pub const STEP_SUMMARY_LIMIT: usize = 1024 * 1024;

/// How a limit is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// UTF-16 code units: at least the number of characters, so safe whichever way GitHub counts.
    Utf16,
    /// UTF-8 bytes (files such as the step summary).
    Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: usize,
    pub measure: Measure,
}

impl Limit {
    /// A PR comment: [`COMMENT_BUDGET`] UTF-16 units.
    pub const COMMENT: Limit = Limit {
        max: COMMENT_BUDGET,
        measure: Measure::Utf16,
    };

    pub fn bytes(max: usize) -> Limit {
        Limit {
            max,
            measure: Measure::Bytes,
        }
    }

    pub fn size(&self, text: &str) -> usize {
        match self.measure {
            Measure::Utf16 => text.encode_utf16().count(),
            Measure::Bytes => text.len(),
        }
    }
}

/// Everything the comment shows.
#[derive(Debug, Clone, Copy)]
pub struct CommentInput<'a> {
    /// The instance name (marker and title).
    pub instance: &'a str,
    /// The plan of the pull request's config (what a merge would do).
    pub head: &'a Plan,
    /// The difference from the base config's plan, when a base was given.
    pub diff: Option<&'a PlanDiff>,
    /// How to call the base in text (`main`, a short commit).
    pub base_label: Option<&'a str>,
}

/// The first visible line: what a merge would do, and what the PR itself changes.
pub fn summary_line(input: &CommentInput) -> String {
    let s = &input.head.summary;
    let mut line = format!(
        "**dyngroups assess** for {}: ",
        escape::inline(input.instance)
    );
    if s.has_changes() {
        let mut parts = Vec::new();
        let mut first = true;
        for (n, what) in [
            (s.groups_new, "to create"),
            (s.groups_adopt, "to adopt"),
            (s.groups_delete, "to delete"),
            (s.groups_stop_managing, "to stop managing"),
        ] {
            if n > 0 {
                // "2 groups to create, 1 to adopt": the noun once, on the first count.
                let noun = if first {
                    format!(" {}", plural(n, "group", "groups"))
                } else {
                    String::new()
                };
                parts.push(format!("{n}{noun} {what}"));
                first = false;
            }
        }
        parts.push(format!("+{} / −{} memberships", s.adds, s.removes));
        let _ = write!(line, "a sync would make {}", parts.join(", "));
    } else {
        line.push_str("no changes, Okta already matches this config");
    }
    if s.groups_skip > 0 {
        let _ = write!(line, " ({} groups skipped)", s.groups_skip);
    }
    if let Some(d) = input.diff {
        let c = &d.counts;
        if d.is_empty() {
            line.push_str("; this pull request changes nothing in the plan");
        } else {
            let _ = write!(
                line,
                "; this pull request: {} {} added, {} removed, {} changed",
                c.rules_added,
                plural(c.rules_added, "rule", "rules"),
                c.rules_removed,
                c.rules_changed
            );
        }
    }
    line.push('.');
    line
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

fn footer(input: &CommentInput) -> String {
    let mut parts = Vec::new();
    if let Some(c) = &input.head.config_commit {
        parts.push(format!("config {}", escape::inline(short(c))));
    }
    if let Some(b) = input.diff.and_then(|d| d.base_commit.as_deref()) {
        parts.push(format!("base {}", escape::inline(short(b))));
    }
    parts.push(format!("plan format {}", input.head.format_version));
    parts.push(format!("dyngroups {}", env!("CARGO_PKG_VERSION")));
    format!("<sub>{}</sub>\n", parts.join(" · "))
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

fn render_at(input: &CommentInput, detail: Detail, limit: Limit) -> (String, Omitted) {
    let mut body = String::new();
    let mut om = Omitted::default();
    if let Some(diff) = input.diff {
        sections::pr_changes(
            &mut body,
            diff,
            input.base_label.unwrap_or("base"),
            detail,
            &mut om,
        );
    }
    sections::rules(&mut body, input.head, detail, &mut om);
    sections::stop_managing(&mut body, input.head, detail, &mut om);
    sections::warnings(&mut body, input.head, detail, &mut om);

    let mut out = format!("{}\n{}\n\n", marker(input.instance), summary_line(input));
    if om.any() {
        let limit_text = match limit.measure {
            Measure::Utf16 => "GitHub's 65,536-character comment limit".to_string(),
            Measure::Bytes => format!("the {}-byte limit", limit.max),
        };
        let _ = write!(
            out,
            "> [!NOTE]\n> Shortened to stay under {limit_text}. Left out: {}. Run `dyngroups assess{}` for the full plan.\n\n",
            om.describe(),
            if input.diff.is_some() {
                " --base REV"
            } else {
                ""
            }
        );
    }
    out.push_str(&body);
    out.push_str(&footer(input));
    (out, om)
}

/// The comment body, at the most detail that fits `limit`. The result always fits unless the limit is
/// smaller than the summary alone (a few hundred characters), in which case that is what comes out.
pub fn render(input: &CommentInput, limit: Limit) -> String {
    let mut last = String::new();
    for detail in Detail::LEVELS {
        let (text, _) = render_at(input, detail, limit);
        if limit.size(&text) <= limit.max {
            return text;
        }
        last = text;
    }
    last
}

/// Makes a body that came from elsewhere fit GitHub's limit: cut at a line boundary with a note.
/// (Our own bodies come from [`render`], which shrinks by structure instead.)
pub fn fit(body: &str, limit: Limit) -> String {
    if limit.size(body) <= limit.max {
        return body.to_string();
    }
    let note = "\n\n> [!NOTE]\n> Cut to stay under GitHub's comment size limit.\n";
    let room = limit.max.saturating_sub(limit.size(note));
    let mut out = String::new();
    let mut used = 0;
    for line in body.split_inclusive('\n') {
        let size = limit.size(line);
        if used + size > room {
            break;
        }
        used += size;
        out.push_str(line);
    }
    out.push_str(note);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::diff::diff_plans;
    use crate::plan::model::{GroupPlan, GroupStatus, PLAN_FORMAT_VERSION, RulePlan, Summary};

    fn group(name: &str, value: &str, status: GroupStatus, adds: u64) -> GroupPlan {
        GroupPlan {
            name: name.into(),
            values: vec![value.into()],
            status,
            skip_reason: None,
            okta_id: None,
            desired_members: adds,
            current_members: 0,
            members_after: adds,
            adds,
            removes: 0,
            delete: false,
        }
    }

    fn plan_with(groups: Vec<GroupPlan>) -> Plan {
        let adds = groups.iter().map(|g| g.adds).sum();
        let n = groups.len() as u64;
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            config_commit: Some("0123456789abcdef0123".into()),
            config_fingerprint: "c".into(),
            okta_fingerprint: "o".into(),
            rules: vec![RulePlan {
                rule: "profile.department:department".into(),
                attribute: "department".into(),
                prefix: "department".into(),
                enabled: true,
                groups,
                rejected_values: vec![],
                users_without_value: 1,
                adds,
                removes: 0,
            }],
            stop_managing: vec![],
            actions: vec![],
            warnings: vec![],
            summary: Summary {
                rules: 1,
                groups_total: n,
                groups_new: n,
                adds,
                ..Summary::default()
            },
            user_groups_after: Default::default(),
        }
    }

    #[test]
    fn marker_first_then_summary() {
        let p = plan_with(vec![group(
            "department_eng",
            "Engineering",
            GroupStatus::New,
            3,
        )]);
        let body = render(
            &CommentInput {
                instance: "prod",
                head: &p,
                diff: None,
                base_label: None,
            },
            Limit::COMMENT,
        );
        let mut lines = body.lines();
        assert_eq!(
            lines.next(),
            Some("<!-- dyngroups:assess instance=prod -->")
        );
        assert_eq!(
            lines.next(),
            Some(
                "**dyngroups assess** for `prod`: a sync would make 1 group to create, +3 / −0 memberships."
            )
        );
        assert!(
            body.contains("| `department_eng` | `Engineering` | new | 0 | 3 | +3 | −0 |"),
            "{body}"
        );
        assert!(!body.contains("[!NOTE]"));
        assert!(body.contains("config `0123456789ab`"));
    }

    #[test]
    fn long_tables_fold_into_details() {
        let groups = (0..25)
            .map(|i| group(&format!("department_{i:02}"), "v", GroupStatus::New, 1))
            .collect();
        let p = plan_with(groups);
        let body = render(
            &CommentInput {
                instance: "prod",
                head: &p,
                diff: None,
                base_label: None,
            },
            Limit::COMMENT,
        );
        assert!(
            body.contains("<details><summary>15 more groups</summary>\n\n| Group |"),
            "{body}"
        );
        assert_eq!(body.matches("| `department_").count(), 25);
    }

    #[test]
    fn too_long_is_shortened_with_a_note() {
        let groups = (0..3000)
            .map(|i| {
                group(
                    &format!("department_{i:05}"),
                    &"v".repeat(10),
                    GroupStatus::New,
                    1,
                )
            })
            .collect();
        let p = plan_with(groups);
        let base = plan_with(vec![]);
        let d = diff_plans(&base, &p);
        let input = CommentInput {
            instance: "prod",
            head: &p,
            diff: Some(&d),
            base_label: Some("main"),
        };
        let body = render(&input, Limit::COMMENT);
        assert!(Limit::COMMENT.size(&body) <= COMMENT_BUDGET);
        assert!(body.chars().count() < GITHUB_COMMENT_LIMIT);
        assert!(body.contains(
            "> Shortened to stay under GitHub's 65,536-character comment limit. Left out:"
        ));
        assert!(body.contains("group rows"));
        assert!(body.starts_with("<!-- dyngroups:assess instance=prod -->\n**dyngroups assess**"));
        // every <details> is closed, every fence balanced
        assert_eq!(
            body.matches("<details>").count(),
            body.matches("</details>").count()
        );
        // a bigger limit (the step summary) keeps everything
        let full = render(&input, Limit::bytes(STEP_SUMMARY_LIMIT));
        assert!(!full.contains("Shortened"));
        assert_eq!(full.matches("| `department_").count(), 3000 + 3000);
    }

    #[test]
    fn tiny_limit_still_gives_the_summary() {
        let groups = (0..50)
            .map(|i| group(&format!("department_{i}"), "v", GroupStatus::New, 1))
            .collect();
        let p = plan_with(groups);
        let body = render(
            &CommentInput {
                instance: "prod",
                head: &p,
                diff: None,
                base_label: None,
            },
            Limit::bytes(10),
        );
        assert!(body.contains("**dyngroups assess**"));
        assert!(body.contains("Left out: 1 rule sections"));
    }

    #[test]
    fn fit_cuts_foreign_bodies() {
        let body = "line\n".repeat(20_000);
        let out = fit(&body, Limit::COMMENT);
        assert!(Limit::COMMENT.size(&out) <= COMMENT_BUDGET);
        assert!(out.ends_with("comment size limit.\n"));
        assert_eq!(fit("short", Limit::COMMENT), "short");
    }
}
