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

use super::body::TargetBody;
use super::faults::{Faults, MAX_DELAY_MS};

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
}

const KINDS: usize = 7;

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
        }
    }
}

/// State shared by every connection of one target.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) faults: Faults,
    pub(crate) counters: Counters,
}

/// Per-connection hook: a request that draws "reset" asks its connection task to abort
/// the socket with an RST.
#[derive(Debug, Default)]
pub(crate) struct ConnCtl {
    pub(crate) reset: Notify,
}

type Resp = Response<TargetBody>;

fn kind_of(method: &Method, path: &str) -> Kind {
    match (method, path) {
        (&Method::GET, "/ok") => Kind::Ok,
        (&Method::GET, p) if p.starts_with("/delay/") => Kind::Delay,
        (&Method::GET, p) if p.starts_with("/status/") => Kind::Status,
        (&Method::POST, "/echo") => Kind::Echo,
        (&Method::GET | &Method::POST | &Method::DELETE, "/_control") => Kind::Control,
        (&Method::GET, "/_stats") => Kind::Stats,
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
    counters.requests.fetch_add(1, Relaxed);
    counters.by_kind[kind as usize].fetch_add(1, Relaxed);

    let resp = if matches!(kind, Kind::Control | Kind::Stats) {
        manage(&shared, kind, req).await
    } else {
        faulty(&shared, &conn, kind, req).await
    };
    let class = usize::from(resp.status().as_u16() / 100).clamp(1, 5) - 1;
    counters.by_class[class].fetch_add(1, Relaxed);
    Ok(resp)
}

async fn faulty(shared: &Shared, conn: &ConnCtl, kind: Kind, req: Request<Incoming>) -> Resp {
    let faults = shared.faults.get();
    if faults.is_clean() {
        return route(kind, req).await;
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
        route(kind, req).await
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

async fn route(kind: Kind, req: Request<Incoming>) -> Resp {
    match kind {
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
        return to_json(&shared.counters.snapshot());
    }
    match *req.method() {
        Method::POST => {
            let body = match Limited::new(req.into_body(), 64 * 1024).collect().await {
                Ok(c) => c.to_bytes(),
                Err(_) => return bad_request("control body too large or aborted"),
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

fn to_json<T: Serialize>(value: &T) -> Resp {
    match serde_json::to_vec(value) {
        Ok(v) => json(StatusCode::OK, Bytes::from(v)),
        Err(_) => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            Bytes::from_static(br#"{"error":"serialization"}"#),
        ),
    }
}

fn bad_request(msg: &str) -> Resp {
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

fn json(status: StatusCode, body: Bytes) -> Resp {
    let mut resp = plain(status, TargetBody::full(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
