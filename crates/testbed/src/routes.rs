//! Request handling of the calibration target: routing, fault application and counters.
//!
//! Routing is a plain match on method and path (no router allocation on the hot path). Faults
//! apply to every route except the `/_control` and `/_stats` endpoints that manage them, in a
//! fixed order: reset, latency, stall, injected error, then body shaping (huge, slow).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::http::{HeaderValue, Method, Request, Response, StatusCode, header};
use serde::Serialize;
use tokio::sync::Notify;

use super::api::Api;
use super::body::TargetBody;
use super::cache::Cache;
use super::demo::{Demo, DemoStats, is_page};
use super::faults::{FaultConfig, FaultError, Faults, MAX_DELAY_MS};
use super::sut::Sut;
use super::ws::Chat;

/// Largest body `POST /echo` accepts (answers 413 beyond).
pub const MAX_ECHO_BYTES: usize = 64 * 1024 * 1024;

/// Which route a request hit (a bounded label for the stats).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ok,
    Delay,
    Status,
    Echo,
    Control,
    Stats,
    NotFound,
    /// The emulated seed APIs (`/api/…`, `/webhooks/…`, see `api.rs`).
    Api,
    /// The WebSocket chat room (`ws.rs`).
    Ws,
    /// `GET /metrics`: the SUT metrics (`sut.rs`).
    Metrics,
    /// The demo API's static pages and `/health` (`demo.rs`).
    Page,
}

const KINDS: usize = 11;

/// Counters since start, shared by all connections.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    by_kind: [AtomicU64; KINDS],
    by_class: [AtomicU64; 5],
    resets: AtomicU64,
    stalls: AtomicU64,
    errors: AtomicU64,
}

/// Snapshot of what the target has served (`GET /_stats`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TargetStats {
    pub requests_total: u64,
    pub ok: u64,
    pub delay: u64,
    pub status: u64,
    pub echo: u64,
    pub control: u64,
    pub stats: u64,
    pub not_found: u64,
    /// Responses by status class, `1xx` to `5xx`.
    pub status_1xx: u64,
    pub status_2xx: u64,
    pub status_3xx: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    pub resets_injected: u64,
    pub stalls_injected: u64,
    pub errors_injected: u64,
    /// `POST /api/items` answered 201.
    pub items_created: u64,
    /// `GET /api/items/{id}` of an id this target issued.
    pub items_fetched_ok: u64,
    /// `GET /api/items/{id}` of an id it never issued (404).
    pub items_fetched_unknown: u64,
    pub webhooks_valid: u64,
    pub webhooks_invalid: u64,
    /// Validly signed webhooks whose `"id"` was seen before.
    pub webhooks_duplicate: u64,
    pub activity_pages_served: u64,
    /// Bearer tokens seen by `/api/whoami` and how often (at most 1000 distinct).
    pub tokens_seen: std::collections::BTreeMap<String, u64>,
    /// `/api/whoami` calls with a token beyond the first 1000 distinct ones.
    pub tokens_overflow: u64,
    pub ws_connections: u64,
    /// Connections closed abruptly by `ws_drop_rate`.
    pub ws_dropped: u64,
    /// Text messages received (each is broadcast to every client).
    pub ws_messages: u64,
    /// Jobs in the notification queue now (see `sut.rs`).
    pub queue_depth: u64,
    /// When the last queue outage's backlog was (or will be) drained, in ms from the outage's
    /// start; known once the outage is over.
    pub queue_drained_at_ms: Option<u64>,
    /// `POST /api/notifications` answered 202 / shed with 503.
    pub notifications_accepted: u64,
    pub notifications_rejected: u64,
    /// Requests answered 503 by `failover_5xx`.
    pub failover_5xx_served: u64,
    /// Queue worker restarts (`worker_restarts`, see `sut.rs`).
    pub worker_restarts: u64,
    /// Cache purges (`cache_purge_ms`) and the cached reads that missed while it was rebuilt
    /// (`cache.rs`).
    pub cache_purges: u64,
    pub cache_misses: u64,
    /// Requests that carried a valid W3C `traceparent` (`trace.rs`).
    pub traces_seen: u64,
    /// Their trace ids, the last `trace::MAX_TRACE_IDS`, oldest first.
    pub recent_trace_ids: Vec<String>,
    /// The demo staging API's counters (`demo.rs`), flattened into the same object.
    #[serde(flatten)]
    pub demo: DemoStats,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> TargetStats {
        let k = |kind: Kind| self.by_kind[kind as usize].load(Relaxed);
        let c = |i: usize| self.by_class[i].load(Relaxed);
        TargetStats {
            requests_total: self.requests.load(Relaxed),
            ok: k(Kind::Ok),
            delay: k(Kind::Delay),
            status: k(Kind::Status),
            echo: k(Kind::Echo),
            control: k(Kind::Control),
            stats: k(Kind::Stats),
            not_found: k(Kind::NotFound),
            status_1xx: c(0),
            status_2xx: c(1),
            status_3xx: c(2),
            status_4xx: c(3),
            status_5xx: c(4),
            resets_injected: self.resets.load(Relaxed),
            stalls_injected: self.stalls.load(Relaxed),
            errors_injected: self.errors.load(Relaxed),
            ..TargetStats::default()
        }
    }
}

/// State shared by every connection of one target.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) faults: Faults,
    pub(crate) counters: Counters,
    pub(crate) api: Api,
    pub(crate) chat: Chat,
    pub(crate) sut: Sut,
    pub(crate) cache: Cache,
    pub(crate) demo: Demo,
    /// Opt-in arrival times (`TargetHandle::record_arrivals`).
    pub(crate) arrivals: super::arrivals::ArrivalLog,
    pub(crate) traces: super::trace::Traces,
}

impl Shared {
    /// Everything `GET /_stats` shows.
    pub(crate) fn stats(&self) -> TargetStats {
        let mut s = self.counters.snapshot();
        self.api.fill(&mut s);
        self.chat.fill(&mut s);
        self.sut.fill(&mut s);
        self.cache.fill(&mut s);
        self.demo.fill(&mut s);
        self.traces.fill(&mut s);
        s
    }
}

/// Per-connection hook: a request that draws "reset" asks its connection task to abort
/// the socket with an RST.
#[derive(Debug, Default)]
pub(crate) struct ConnCtl {
    pub(crate) reset: Notify,
}

pub(crate) type Resp = Response<TargetBody>;

fn kind_of(method: &Method, path: &str) -> Kind {
    match (method, path) {
        (&Method::GET, "/ok") => Kind::Ok,
        (&Method::GET, p) if p.starts_with("/delay/") => Kind::Delay,
        (&Method::GET, p) if p.starts_with("/status/") => Kind::Status,
        (&Method::POST, "/echo") => Kind::Echo,
        (&Method::GET | &Method::POST | &Method::DELETE, "/_control") => Kind::Control,
        (&Method::GET, "/_stats") => Kind::Stats,
        (&Method::GET, "/metrics") => Kind::Metrics,
        (&Method::GET, "/ws/chat") => Kind::Ws,
        (&Method::GET, p) if is_page(p) => Kind::Page,
        (_, p) if p.starts_with("/api/") || p.starts_with("/webhooks/") => Kind::Api,
        _ => Kind::NotFound,
    }
}

/// Serves one request; never fails (errors become 4xx answers).
pub(crate) async fn handle(
    shared: Arc<Shared>,
    conn: Arc<ConnCtl>,
    req: Request<Incoming>,
) -> Result<Resp, Infallible> {
    let kind = kind_of(req.method(), req.uri().path());
    let counters = &shared.counters;
    shared.arrivals.record();
    counters.requests.fetch_add(1, Relaxed);
    counters.by_kind[kind as usize].fetch_add(1, Relaxed);
    shared.traces.record(req.headers());

    let mut resp = if kind == Kind::Metrics {
        let demo = super::demo::prometheus(&shared.stats());
        shared.sut.metrics(counters.requests.load(Relaxed), &demo)
    } else if matches!(kind, Kind::Control | Kind::Stats) {
        manage(&shared, kind, req).await
    } else if kind == Kind::Ws {
        super::ws::upgrade(&shared, req)
    } else {
        faulty(&shared, &conn, kind, req).await
    };
    let class = usize::from(resp.status().as_u16() / 100).clamp(1, 5) - 1;
    counters.by_class[class].fetch_add(1, Relaxed);
    resp.headers_mut()
        .insert("x-request-id", shared.traces.request_id());
    Ok(resp)
}

async fn faulty(shared: &Shared, conn: &ConnCtl, kind: Kind, req: Request<Incoming>) -> Resp {
    if let Some(resp) = shared.sut.failover() {
        return resp;
    }
    let faults = shared.faults.get();
    if faults.is_clean() {
        return route(shared, &faults, kind, req).await;
    }
    if faults.roll_reset() {
        shared.counters.resets.fetch_add(1, Relaxed);
        conn.reset.notify_one();
        // The connection task drops this future together with the socket.
        return std::future::pending().await;
    }
    if let Some(d) = faults.latency() {
        tokio::time::sleep(d).await;
    }
    if let Some(d) = faults.stall() {
        shared.counters.stalls.fetch_add(1, Relaxed);
        tokio::time::sleep(d).await;
    }
    let mut resp = if faults.roll_error() {
        shared.counters.errors.fetch_add(1, Relaxed);
        let status = StatusCode::from_u16(faults.error_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json(status, Bytes::from_static(br#"{"error":"injected"}"#))
    } else {
        route(shared, &faults, kind, req).await
    };
    if let Some(len) = faults.huge_body_bytes {
        *resp.body_mut() = TargetBody::zeros(len);
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
    }
    if let Some(rate) = faults.slow_body_bytes_per_sec {
        let body = std::mem::replace(resp.body_mut(), TargetBody::empty());
        *resp.body_mut() = body.paced(rate);
    }
    resp
}

async fn route(shared: &Shared, faults: &FaultConfig, kind: Kind, req: Request<Incoming>) -> Resp {
    match kind {
        Kind::Api if req.method() == Method::POST && req.uri().path() == "/api/notifications" => {
            shared.sut.notification()
        }
        Kind::Api => {
            // A purged cache sends its reads through the slower database fallback.
            if let Some(d) = shared.cache.miss(req.method(), req.uri().path()) {
                tokio::time::sleep(d).await;
            }
            match shared.demo.route(faults, req).await {
                Ok(resp) => resp,
                Err(req) => shared.api.route(faults, req).await,
            }
        }
        Kind::Page => shared.demo.page(req.uri().path()),
        Kind::Ok => text(StatusCode::OK, Bytes::from_static(b"ok")),
        Kind::Delay => {
            let ms = req.uri().path()["/delay/".len()..].parse::<u64>();
            match ms {
                Ok(ms) if ms <= MAX_DELAY_MS => {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    text(StatusCode::OK, Bytes::from_static(b"ok"))
                }
                _ => bad_request("delay must be an integer of milliseconds <= 600000"),
            }
        }
        // 1xx cannot be a final response: hyper's HTTP/1 encoder turns it into a 500 and
        // closes the connection. 2xx..5xx are answered as asked.
        Kind::Status => {
            let code = req.uri().path()["/status/".len()..].parse::<u16>();
            match code
                .ok()
                .filter(|c| (100..=599).contains(c))
                .and_then(|c| StatusCode::from_u16(c).ok())
            {
                Some(status) => plain(status, TargetBody::empty()),
                None => bad_request("status must be within 100..=599"),
            }
        }
        Kind::Echo => echo(req).await,
        _ => json(
            StatusCode::NOT_FOUND,
            Bytes::from_static(br#"{"error":"not found"}"#),
        ),
    }
}

async fn echo(req: Request<Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    let data = match Limited::new(body, MAX_ECHO_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return json(
                StatusCode::PAYLOAD_TOO_LARGE,
                Bytes::from_static(br#"{"error":"body too large or aborted"}"#),
            );
        }
    };
    let mut resp = plain(StatusCode::OK, TargetBody::full(data));
    if let Some(ct) = parts.headers.get(header::CONTENT_TYPE) {
        resp.headers_mut().insert(header::CONTENT_TYPE, ct.clone());
    }
    resp
}

/// `/_control` and `/_stats`.
async fn manage(shared: &Shared, kind: Kind, req: Request<Incoming>) -> Resp {
    if kind == Kind::Stats {
        return to_json(&shared.stats());
    }
    match *req.method() {
        Method::POST => {
            let body = match Limited::new(req.into_body(), 64 * 1024).collect().await {
                Ok(c) => c.to_bytes(),
                Err(_) => return bad_request("control body too large or aborted"),
            };
            // The webhook secret is kept apart from the faults: never echoed, never logged.
            let body = match take_webhook_secret(&body) {
                Ok((secret, rest)) => {
                    if let Some(secret) = secret {
                        shared.api.set_webhook_secret(secret);
                    }
                    rest
                }
                Err(e) => return bad_request(&e.to_string()),
            };
            // SUT settings and drill faults (memory_ratio, queue_outage_ms, failover_5xx,
            // cache_purge_ms…).
            let body = match serde_json::from_slice(&body)
                .map_err(FaultError::from)
                .and_then(|patch| shared.sut.take_controls(patch))
                .and_then(|rest| shared.cache.take_controls(rest))
                .and_then(|rest| shared.demo.take_controls(rest))
                .and_then(|rest| shared.api.take_controls(rest))
                .and_then(|rest| Ok(serde_json::to_vec(&rest)?))
            {
                Ok(rest) => rest,
                Err(e) => return bad_request(&e.to_string()),
            };
            match shared.faults.patch_json(&body) {
                Ok(cfg) => to_json(&*cfg),
                Err(e) => bad_request(&e.to_string()),
            }
        }
        Method::DELETE => {
            shared.faults.reset();
            to_json(&*shared.faults.get())
        }
        _ => to_json(&*shared.faults.get()),
    }
}

/// Splits `webhook_secret` (a string, or null to clear it) off a control update.
#[allow(clippy::type_complexity)]
fn take_webhook_secret(body: &[u8]) -> Result<(Option<Option<String>>, Bytes), FaultError> {
    let serde_json::Value::Object(mut patch) = serde_json::from_slice(body)? else {
        return Err(FaultError::NotAnObject);
    };
    let secret = match patch.remove("webhook_secret") {
        None => None,
        Some(serde_json::Value::Null) => Some(None),
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(Some(s)),
        Some(_) => {
            return Err(FaultError::Invalid(
                "webhook_secret must be a non-empty string".into(),
            ));
        }
    };
    let rest = serde_json::to_vec(&serde_json::Value::Object(patch))?;
    Ok((secret, Bytes::from(rest)))
}

fn to_json<T: Serialize>(value: &T) -> Resp {
    match serde_json::to_vec(value) {
        Ok(v) => json(StatusCode::OK, Bytes::from(v)),
        Err(_) => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            Bytes::from_static(br#"{"error":"serialization"}"#),
        ),
    }
}

pub(crate) fn bad_request(msg: &str) -> Resp {
    let body = serde_json::json!({ "error": msg }).to_string();
    json(StatusCode::BAD_REQUEST, Bytes::from(body))
}

fn plain(status: StatusCode, body: TargetBody) -> Resp {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp
}

fn text(status: StatusCode, body: Bytes) -> Resp {
    let mut resp = plain(status, TargetBody::full(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

pub(crate) fn json(status: StatusCode, body: Bytes) -> Resp {
    let mut resp = plain(status, TargetBody::full(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
