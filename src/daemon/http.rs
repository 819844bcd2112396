//! The daemon's HTTP face (read-only): `/healthz` (liveness), `/metrics` (Prometheus text) and `/`, a small
//! HTML status page. Nothing here can start, change or stop a sync.

use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};

use super::Board;

/// The routes over a shared board.
pub fn router(board: Arc<Board>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/", get(page))
        .with_state(board)
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    board: Arc<Board>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(board))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Alive while the process serves; the body says whether the last sync worked (the status code does not,
/// so a failing Okta does not get the daemon restarted in a loop).
async fn healthz(State(board): State<Arc<Board>>) -> Response {
    let s = board.snapshot();
    let last = match (s.ticks_ok + s.ticks_failed, s.last_success_ok) {
        (0, _) => "no sync finished yet",
        (_, true) => "last sync succeeded",
        (_, false) => "last sync failed",
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("ok: {last}\n"),
    )
        .into_response()
}

async fn metrics(State(board): State<Arc<Board>>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        board.prometheus(),
    )
        .into_response()
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| "—".into())
}

async fn page(State(board): State<Arc<Board>>) -> Html<String> {
    let s = board.snapshot();
    let mut rows = String::new();
    let mut row = |k: &str, v: String| {
        let _ = writeln!(
            rows,
            "<tr><th>{}</th><td>{}</td></tr>",
            html_escape(k),
            html_escape(&v)
        );
    };
    row("Running since", when(Some(s.started_at)));
    row(
        "Sync in progress",
        if s.running { "yes".into() } else { "no".into() },
    );
    row("Last sync started", when(s.last_attempt_at));
    row("Last successful sync", when(s.last_success_at));
    row(
        "Last status",
        s.last_status.clone().unwrap_or_else(|| "—".into()),
    );
    row(
        "Last duration",
        s.last_duration
            .map(|d| format!("{:.1} s", d.as_secs_f64()))
            .unwrap_or_else(|| "—".into()),
    );
    row(
        "Config commit",
        s.last_commit.clone().unwrap_or_else(|| "—".into()),
    );
    row("Managed groups", s.managed_groups.to_string());
    row("Licensed users", s.licensed_users.to_string());
    row("Changes in the last sync", s.last_changes.to_string());
    row(
        "Syncs (ok / failed / aborted)",
        format!("{} / {} / {}", s.ticks_ok, s.ticks_failed, s.ticks_aborted),
    );
    row("Failures in a row", s.consecutive_failures.to_string());
    row(
        "Okta calls / 429s (total)",
        format!("{} / {}", s.api_calls_total, s.rate_limited_total),
    );
    row("Next sync", when(s.next_tick_at));
    let error = match (&s.last_error, s.last_error_at) {
        (Some(e), at) => format!(
            "<h2>Last error ({})</h2>\n<pre>{}</pre>\n",
            html_escape(&when(at)),
            html_escape(e)
        ),
        _ => String::new(),
    };
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"30\">\
<title>dyngroups</title><style>body{{font-family:sans-serif;margin:2em}}th{{text-align:left;padding-right:1em}}\
pre{{white-space:pre-wrap}}</style></head>\n<body><h1>dyngroups daemon</h1>\n<table>\n{rows}</table>\n{error}\
<p><a href=\"/metrics\">metrics</a> · <a href=\"/healthz\">healthz</a> · dyngroups {}</p></body></html>\n",
        env!("CARGO_PKG_VERSION")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::TickReport;
    use std::time::Duration;

    async fn get_text(base: &str, path: &str) -> (u16, String, String) {
        crate::tls::install_crypto_provider();
        let r = reqwest::get(format!("{base}{path}")).await.unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, ct, r.text().await.unwrap())
    }

    #[tokio::test]
    async fn serves_health_metrics_and_an_escaped_status_page() {
        let board = Arc::new(Board::new());
        board.tick_succeeded(
            TickReport {
                status: "success".into(),
                commit: Some("<script>alert(1)</script>".into()),
                managed_groups: 4,
                licensed_users: 9,
                ..TickReport::default()
            },
            Duration::from_secs(2),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, board.clone(), async {
            let _ = rx.await;
        }));

        let (status, _, body) = get_text(&base, "/healthz").await;
        assert_eq!((status, body.as_str()), (200, "ok: last sync succeeded\n"));

        let (status, ct, body) = get_text(&base, "/metrics").await;
        assert_eq!(status, 200);
        assert!(ct.starts_with("text/plain; version=0.0.4"));
        assert!(body.contains("dyngroups_managed_groups 4\n"));

        let (status, ct, body) = get_text(&base, "/").await;
        assert_eq!(status, 200);
        assert!(ct.starts_with("text/html"));
        assert!(body.contains("<th>Licensed users</th><td>9</td>"));
        assert!(!body.contains("<script>") && body.contains("&lt;script&gt;"));

        let (status, _, _) = get_text(&base, "/nothing").await;
        assert_eq!(status, 404);
        tx.send(()).unwrap();
        server.await.unwrap().unwrap();
    }
}
