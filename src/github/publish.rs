//! Delivering the assess comment: update-or-create it on the pull request and, in GitHub Actions, append it
//! to the step summary. When GitHub refuses the write (403: a pull request from a fork gets a read-only
//! token), the step summary gets the assessment with a note saying why there is no comment, and the run
//! does not fail: the review still has the numbers, on the run page.

use std::path::Path;

use super::client::{GithubClient, GithubError, RepoRef, Upserted};
use super::comment::{CommentInput, Limit, render};
use super::marker::marker;
use super::summary::{append_step_summary, step_summary_room};

/// What [`publish`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The comment, when GitHub took it.
    pub comment: Option<Upserted>,
    /// The step summary was written.
    pub summary_written: bool,
    /// Why there is no comment (GitHub's 403), when that happened and the summary took its place.
    pub forbidden: Option<String>,
}

/// The note put above the assessment in the step summary when commenting was refused.
pub fn forbidden_note(repo: &RepoRef, pr: u64, err: &GithubError) -> String {
    format!(
        "> [!WARNING]\n> dyngroups could not post its comment on {repo}#{pr}: {err}.\n> This is expected for a \
         pull request from a fork (GitHub gives it a read-only token); otherwise grant the job \
         `permissions: pull-requests: write`. The assessment is below instead.\n\n"
    )
}

/// Posts (or updates) the comment and writes the step summary when `step_summary` is given.
pub async fn publish(
    client: &GithubClient,
    repo: &RepoRef,
    pr: u64,
    input: &CommentInput<'_>,
    step_summary: Option<&Path>,
) -> Result<Delivery, GithubError> {
    let body = render(input, Limit::COMMENT);
    let result = client
        .upsert_comment(repo, pr, &marker(input.instance), &body)
        .await;
    let (comment, forbidden) = match result {
        Ok(done) => (Some(done), None),
        Err(err) if err.is_forbidden() && step_summary.is_some() => (None, Some(err)),
        Err(err) => return Err(err),
    };
    let mut summary_written = false;
    if let Some(path) = step_summary {
        let note = forbidden
            .as_ref()
            .map(|e| forbidden_note(repo, pr, e))
            .unwrap_or_default();
        let room = step_summary_room(path).saturating_sub(note.len());
        let text = format!("{note}{}", render(input, Limit::bytes(room)));
        if let Err(e) = append_step_summary(path, &text) {
            match forbidden {
                // The comment is the main product: a summary that cannot be written is only a warning...
                None => {
                    tracing::warn!(error = %e, path = %path.display(), "could not write the step summary")
                }
                // ...unless it was the fallback for a refused comment: then nothing was delivered.
                Some(refused) => {
                    tracing::error!(error = %e, path = %path.display(), "could not write the step summary");
                    return Err(refused);
                }
            }
        } else {
            summary_written = true;
        }
    }
    Ok(Delivery {
        comment,
        summary_written,
        forbidden: forbidden.map(|e| e.to_string()),
    })
}
