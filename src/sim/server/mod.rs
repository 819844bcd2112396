//! The emulator's HTTP face: Okta's endpoints over plain HTTP on a local port, with Okta's auth,
//! pagination, headers, rate limits and error bodies, plus faults and counters that tests change and
//! read while it runs (in process through [`RunningServer`], out of process under `/_sim/`).
//!
//! Admin endpoints (no auth): `GET|PUT|DELETE /_sim/faults` (JSON [`Faults`]), `GET|DELETE /_sim/counters`
//! (JSON [`Counters`]), `GET /_sim/health`.

pub mod handlers;
pub mod oauth;
pub mod respond;
pub mod route;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use super::emulator::Emulator;
use super::error::ApiError;
use super::faults::{Counters, FaultState, Faults, Injected};
use super::ids;
use super::ratelimit::{Bucket, Decision, RateLimiter, RateProfile};

pub use super::ratelimit::BucketLimits;

/// How to run the HTTP face. Default: Unlimited profile, real time, 127.0.0.1 on a free port.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub profile: RateProfile,
    /// 60.0 = a rate-limit minute lasts one real second.
    pub time_scale: f64,
    /// Where to listen; `None` = 127.0.0.1:0.
    pub listen: Option<SocketAddr>,
    /// Faults active from the start.
    pub faults: Faults,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            profile: RateProfile::Unlimited,
            time_scale: 1.0,
            listen: None,
            faults: Faults::default(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct Shared {
    emu: Emulator,
    base_url: String,
    limiter: Mutex<RateLimiter>,
    faults: Mutex<FaultState>,
    counters: Mutex<Counters>,
    in_flight: AtomicUsize,
    concurrency: Option<usize>,
}

/// A running emulator server; stops when dropped (or with [`RunningServer::shutdown`]).
pub struct RunningServer {
    /// `http://127.0.0.1:PORT`, what clients use as the Okta org URL.
    pub base_url: String,
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl RunningServer {
    pub fn emulator(&self) -> &Emulator {
        &self.shared.emu
    }

    /// Replaces the faults (takes effect on the next request; `fail_nth` counts from now).
    pub fn set_faults(&self, faults: Faults) {
        lock(&self.shared.faults).set(faults);
    }

    pub fn clear_faults(&self) {
        self.set_faults(Faults::default());
    }

    pub fn faults(&self) -> Faults {
        lock(&self.shared.faults).faults.clone()
    }

    pub fn counters(&self) -> Counters {
        lock(&self.shared.counters).clone()
    }

    pub fn reset_counters(&self) {
        *lock(&self.shared.counters) = Counters::default();
    }

    /// The real duration of one rate-limit window (60 s / time scale).
    pub fn window(&self) -> Duration {
        lock(&self.shared.limiter).window()
    }

    /// Stops accepting and closes open connections.
    pub fn shutdown(self) {
        let _ = self.stop.send(true);
    }

    /// Waits until the server is stopped (e.g. by Ctrl-C handling in the caller).
    pub async fn stopped(&self) {
        let mut rx = self.stop.subscribe();
        while !*rx.borrow() {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Binds and starts serving in the background of the current tokio runtime.
pub async fn spawn(emu: Emulator, options: ServerOptions) -> std::io::Result<RunningServer> {
    let listen = options
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        addr.ip().to_string()
    };
    let base_url = if addr.is_ipv6() {
        format!("http://[{host}]:{}", addr.port())
    } else {
        format!("http://{host}:{}", addr.port())
    };
    let limits = options.profile.limits();
    let mut faults = FaultState::default();
    faults.set(options.faults.clone());
    let shared = Arc::new(Shared {
        emu,
        base_url: base_url.clone(),
        concurrency: limits.concurrency,
        limiter: Mutex::new(RateLimiter::new(limits, options.time_scale)),
        faults: Mutex::new(faults),
        counters: Mutex::new(Counters::default()),
        in_flight: AtomicUsize::new(0),
    });
    let (stop, stop_rx) = watch::channel(false);
    tokio::spawn(accept_loop(listener, shared.clone(), stop_rx));
    Ok(RunningServer {
        base_url,
        addr,
        shared,
        stop,
    })
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(stream, shared.clone(), stop.clone()));
            }
            _ = stop.changed() => return,
        }
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let kill = Arc::new(Notify::new());
    let k = kill.clone();
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let shared = shared.clone();
        let kill = k.clone();
        async move { Ok::<_, Infallible>(handle(shared, kill, req.map(Body::new)).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), svc);
    tokio::select! {
        _ = conn => {}
        _ = kill.notified() => {}
        _ = stop.changed() => {}
    }
}

struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn base_of(headers: &HeaderMap, fallback: &str) -> String {
    headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .map(|h| format!("http://{h}"))
        .unwrap_or_else(|| fallback.to_string())
}

/// The credential presented. Okta's Python SDK v3 sends `SSWS<token>` without a space, which Okta
/// accepts, so the space is optional here too.
fn credential(headers: &HeaderMap) -> Option<String> {
    let v = headers.get("authorization")?.to_str().ok()?.trim();
    for scheme in ["SSWS", "Bearer"] {
        if v.len() > scheme.len()
            && v.is_char_boundary(scheme.len())
            && v[..scheme.len()].eq_ignore_ascii_case(scheme)
        {
            let token = v[scheme.len()..].trim();
            return (!token.is_empty()).then(|| token.to_string());
        }
    }
    None
}

async fn handle(shared: Arc<Shared>, kill: Arc<Notify>, req: Request<Body>) -> Response<Body> {
    let rid = ids::request_id();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    lock(&shared.counters).requests += 1;
    let resp = if path.starts_with("/_sim/") || path == "/_sim" {
        admin(&shared, req, &rid).await
    } else {
        let n = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let _guard = InFlight(&shared.in_flight);
        {
            let mut c = lock(&shared.counters);
            c.max_in_flight = c.max_in_flight.max(n as u64);
        }
        okta(
            &shared,
            &kill,
            req,
            &rid,
            &method,
            &path,
            query.as_deref(),
            n,
        )
        .await
    };
    *lock(&shared.counters)
        .by_status
        .entry(resp.status().as_u16())
        .or_default() += 1;
    resp
}

#[allow(clippy::too_many_arguments)]
async fn okta(
    shared: &Shared,
    kill: &Notify,
    req: Request<Body>,
    rid: &str,
    method: &Method,
    path: &str,
    query: Option<&str>,
    in_flight: usize,
) -> Response<Body> {
    let (route, route_err) = match route::resolve(method, path) {
        Ok(r) => (Some(r), None),
        Err((e, b)) => (None, Some((e, b))),
    };
    let bucket = route.as_ref().map_or_else(
        || route_err.as_ref().map_or(Bucket::Other, |(_, b)| *b),
        |r| r.bucket,
    );
    let endpoint = route
        .as_ref()
        .map_or_else(|| format!("{method} (unknown)"), |r| r.template.clone());
    {
        let mut c = lock(&shared.counters);
        *c.by_endpoint.entry(endpoint).or_default() += 1;
        *c.by_bucket.entry(bucket.name().to_string()).or_default() += 1;
    }
    if let Some(cap) = shared.concurrency
        && in_flight > cap
    {
        lock(&shared.counters).concurrency_limited += 1;
        let d = Decision {
            allowed: false,
            limit: 0,
            remaining: 0,
            reset_in: Duration::from_secs(1),
        };
        return respond::error(&ApiError::rate_limited(), rid, Some(&d));
    }
    let injected = lock(&shared.faults).decide(method.as_str(), path);
    let latency = lock(&shared.faults).faults.latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    match injected {
        Injected::Drop => {
            lock(&shared.counters).dropped += 1;
            kill.notify_one();
            std::future::pending::<()>().await;
        }
        Injected::ServerError(s) => {
            lock(&shared.counters).injected_5xx += 1;
            let mut e = ApiError::internal();
            e.status = s;
            return respond::error(&e, rid, None);
        }
        Injected::RateLimited => {
            lock(&shared.counters).injected_429 += 1;
            let window = lock(&shared.limiter).window();
            let d = Decision {
                allowed: false,
                limit: 1,
                remaining: 0,
                reset_in: window,
            };
            return respond::error(&ApiError::rate_limited(), rid, Some(&d));
        }
        Injected::None | Injected::DropAfter | Injected::ErrorAfter(_) => {}
    }
    let presented = credential(req.headers());
    let decision =
        lock(&shared.limiter).check(bucket, presented.as_deref(), tokio::time::Instant::now());
    if !decision.allowed {
        lock(&shared.counters).rate_limited += 1;
        return respond::error(&ApiError::rate_limited(), rid, Some(&decision));
    }
    let (route, route_err) = (route, route_err);
    let Some(route) = route else {
        let e = route_err.map_or_else(ApiError::path_not_found, |(e, _)| e);
        return respond::error(&e, rid, Some(&decision));
    };
    let base = base_of(req.headers(), &shared.base_url);
    let body = match axum::body::to_bytes(req.into_body(), 64 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return respond::error(&ApiError::malformed_body(), rid, Some(&decision)),
    };
    if route.ep == route::Ep::Token {
        let bases = vec![base.clone(), shared.base_url.clone()];
        let mut org = shared.emu.lock();
        return match oauth::token(&mut org, &body, &bases) {
            Ok(v) => respond::ok(respond::Reply::json(v), rid, Some(&decision)),
            Err((s, e, d)) => respond::oauth_error(s, e, &d, rid, Some(&decision)),
        };
    }
    let resp = {
        let mut org = shared.emu.lock();
        let now = org.now();
        let info = presented
            .as_deref()
            .and_then(|t| org.tokens.get(t))
            .filter(|t| t.expires.is_none_or(|e| e > now))
            .cloned();
        let Some(info) = info else {
            return respond::error(&ApiError::invalid_token(), rid, Some(&decision));
        };
        if route.scope.is_some_and(|s| !info.allows(s)) {
            return respond::error(&ApiError::forbidden(), rid, Some(&decision));
        }
        let q = handlers::Query::parse(query);
        match handlers::dispatch(&mut org, &route.ep, &q, &body, &info.actor, &base, path) {
            Ok(reply) => respond::ok(reply, rid, Some(&decision)),
            Err(e) => respond::error(&e, rid, Some(&decision)),
        }
    };
    match injected {
        Injected::DropAfter => {
            // Done in the org, but the answer is lost on the way.
            lock(&shared.counters).dropped_after += 1;
            kill.notify_one();
            std::future::pending::<()>().await;
            resp
        }
        Injected::ErrorAfter(status) => {
            // Done in the org, but Okta answers that it failed.
            lock(&shared.counters).injected_5xx += 1;
            let mut e = ApiError::internal();
            e.status = status;
            respond::error(&e, rid, None)
        }
        _ => resp,
    }
}

async fn admin(shared: &Shared, req: Request<Body>, rid: &str) -> Response<Body> {
    let method = req.method().clone();
    let path = req.uri().path().trim_end_matches('/').to_string();
    let body = axum::body::to_bytes(req.into_body(), 1024 * 1024)
        .await
        .unwrap_or_default();
    let json = |v: serde_json::Value| respond::ok(respond::Reply::json(v), rid, None);
    match (method.as_str(), path.as_str()) {
        ("GET", "/_sim/health") => json(serde_json::json!({"status": "ok"})),
        ("GET", "/_sim/faults") => {
            json(serde_json::to_value(&lock(&shared.faults).faults).unwrap_or_default())
        }
        ("PUT" | "POST", "/_sim/faults") => match serde_json::from_slice::<Faults>(&body) {
            Ok(f) => {
                lock(&shared.faults).set(f.clone());
                json(serde_json::to_value(&f).unwrap_or_default())
            }
            Err(e) => {
                let mut err = ApiError::malformed_body();
                err.causes.push(format!("faults: {e}"));
                respond::error(&err, rid, None)
            }
        },
        ("DELETE", "/_sim/faults") => {
            lock(&shared.faults).set(Faults::default());
            respond::ok(respond::Reply::no_content(), rid, None)
        }
        ("GET", "/_sim/counters") => {
            json(serde_json::to_value(&*lock(&shared.counters)).unwrap_or_default())
        }
        ("DELETE", "/_sim/counters") => {
            *lock(&shared.counters) = Counters::default();
            respond::ok(respond::Reply::no_content(), rid, None)
        }
        (_, "/_sim/health" | "/_sim/faults" | "/_sim/counters") => {
            respond::error(&ApiError::method_not_allowed(), rid, None)
        }
        _ => respond::error(&ApiError::path_not_found(), rid, None),
    }
}
