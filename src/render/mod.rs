//! Renders plans, diffs and views as text, Markdown and JSON (one printer per format).
