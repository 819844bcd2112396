//! Renders plans, diffs and views as text, Markdown and JSON (one printer per format). Renderers never
//! recount what the plan already summarized; they only choose what to show and escape it.

pub mod assess;
pub mod escape;
