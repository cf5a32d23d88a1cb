//! The demo staging API: the seeds' systems, in memory, with deterministic data.
//!
//! Routes (all under the target's fault profile, like every other route):
//!
//! - seed 000/001 (`community.rs`): `GET /api/communities/{1..3}/feed?page_size=&cursor=`,
//!   `POST /api/posts`, `GET /api/profile/activity?cursor=&page_size=` (per-token auth);
//!   `POST /api/notifications` lives in `sut.rs` (queue model, `queue_latency_ms` answer).
//! - seed 002/004 (`portal.rs`, `rsvp.rs`): `GET /api/search?q=&type=`, `POST /api/auth/login`,
//!   `GET /api/events`, `GET /api/events/{id}`, `POST /api/events/{id}/rsvp` (capacity),
//!   `GET /api/subscriptions`, static pages `GET /`, `/events`, `/instructors`, `/search`,
//!   `/dashboard`.
//! - seed 003 (`meetings.rs`): meetings and tasks CRUD, analytics, settings; `GET /health`.
//!
//! Counters show in `GET /_stats` (flattened into [`TargetStats`]) and, as `demo_*_total`
//! series, in `GET /metrics`. Controls through `POST /_control`: `rsvp_capacity` (default
//! 500), `rsvp_reset: true` (forget every booking), and the faults `rsvp_overbook: true`,
//! `rsvp_dedup: false` (`rsvp.rs`).

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::http::{HeaderValue, Method, Request, StatusCode, header};
use serde::Serialize;
use serde_json::{Map, Value};

use super::body::TargetBody;
use super::community::Community;
use super::faults::{FaultConfig, FaultError};
use super::meetings::Meetings;
use super::portal::Portal;
use super::routes::{Resp, TargetStats, json};
use super::rsvp::Rsvp;

/// Largest request body the demo routes read.
const MAX_BODY: usize = 256 * 1024;

/// Counters of the demo API since start.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DemoStats {
    pub feed_reads: u64,
    pub posts_created: u64,
    pub profile_activity_pages: u64,
    /// `GET /api/profile/activity` without a known bearer token (401).
    pub profile_activity_unauthorized: u64,
    pub searches_simple: u64,
    pub searches_filtered: u64,
    pub searches_semantic: u64,
    pub searches_complex: u64,
    pub logins: u64,
    pub events_listed: u64,
    pub event_views: u64,
    pub subscriptions_listed: u64,
    pub pages_served: u64,
    pub health_checks: u64,
    /// RSVPs answered 201 / 409 (full) / 200 again for the same user.
    pub rsvp_accepted: u64,
    pub rsvp_rejected: u64,
    pub rsvp_duplicate: u64,
    /// Acceptances that left an event above its capacity; must stay 0.
    pub rsvp_overbooked: u64,
    pub rsvp_capacity: u64,
    pub meetings_created: u64,
    pub meetings_updated: u64,
    pub tasks_created: u64,
    pub tasks_updated: u64,
    pub tasks_deleted: u64,
    pub analytics_served: u64,
}

/// One parsed demo request.
pub(crate) struct Call {
    pub method: Method,
    /// Path segments without the leading slash, e.g. `["api", "events", "e1", "rsvp"]`.
    pub segs: Vec<String>,
    pub query: Vec<(String, String)>,
    pub bearer: Option<String>,
    pub body: Bytes,
}

impl Call {
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The body as a JSON object, if it is one.
    pub fn json(&self) -> Option<Map<String, Value>> {
        match serde_json::from_slice(&self.body) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        }
    }
}

/// State of the demo API.
#[derive(Debug, Default)]
pub(crate) struct Demo {
    community: Community,
    portal: Portal,
    rsvp: Rsvp,
    meetings: Meetings,
}

/// Whether `GET path` is one of the static pages (or `/health`).
pub(crate) fn is_page(path: &str) -> bool {
    matches!(
        path,
        "/" | "/events" | "/instructors" | "/search" | "/dashboard" | "/health"
    )
}

fn claims(method: &Method, path: &str) -> bool {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["api", "communities", _, "feed"] | ["api", "profile", "activity"] => method == Method::GET,
        ["api", "posts"] | ["api", "auth", "login"] => method == Method::POST,
        ["api", "search"] | ["api", "subscriptions"] | ["api", "settings"] => method == Method::GET,
        ["api", "events"] | ["api", "events", _] => method == Method::GET,
        ["api", "events", _, "rsvp"] => method == Method::POST,
        ["api", "meetings" | "tasks", ..] | ["api", "analytics", _] => true,
        _ => false,
    }
}

impl Demo {
    pub(crate) fn fill(&self, s: &mut TargetStats) {
        let d = &mut s.demo;
        self.community.fill(d);
        self.portal.fill(d);
        self.rsvp.fill(d);
        self.meetings.fill(d);
    }

    /// Takes `rsvp_capacity` / `rsvp_reset` off a `/_control` update (validated first) and
    /// returns the rest.
    pub(crate) fn take_controls(
        &self,
        mut patch: Map<String, Value>,
    ) -> Result<Map<String, Value>, FaultError> {
        let bad = |m: &str| FaultError::Invalid(m.to_owned());
        let capacity = patch
            .remove("rsvp_capacity")
            .map(|v| {
                v.as_u64()
                    .filter(|n| *n <= 1_000_000)
                    .ok_or_else(|| bad("rsvp_capacity must be an integer within 0..=1000000"))
            })
            .transpose()?;
        let reset = patch
            .remove("rsvp_reset")
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| bad("rsvp_reset must be true or false"))
            })
            .transpose()?;
        let flag = |patch: &mut Map<String, Value>, key: &str| {
            patch
                .remove(key)
                .map(|v| {
                    v.as_bool()
                        .ok_or_else(|| bad(&format!("{key} must be true or false")))
                })
                .transpose()
        };
        let overbook = flag(&mut patch, "rsvp_overbook")?;
        let dedup = flag(&mut patch, "rsvp_dedup")?;
        self.rsvp.set_faults(overbook, dedup);
        if let Some(n) = capacity {
            self.rsvp.set_capacity(n);
        }
        if reset == Some(true) {
            self.rsvp.reset();
        }
        Ok(patch)
    }

    /// Serves a demo API route, or hands the request back when it is not one.
    pub(crate) async fn route(
        &self,
        faults: &FaultConfig,
        req: Request<Incoming>,
    ) -> Result<Resp, Request<Incoming>> {
        if !claims(req.method(), req.uri().path()) {
            return Err(req);
        }
        let call = match read_call(req).await {
            Some(c) => c,
            None => return Ok(error(StatusCode::BAD_REQUEST, "body too large or aborted")),
        };
        let api = call.segs.get(1).map(String::as_str).unwrap_or("");
        Ok(match api {
            "communities" | "posts" | "profile" => self.community.route(faults, &call),
            "events" if call.segs.len() == 4 => self.rsvp.rsvp(&call),
            "events" if call.segs.len() == 3 => self.rsvp.event(&call),
            "meetings" | "tasks" | "analytics" | "settings" => self.meetings.route(&call),
            _ => self.portal.route(&call).await,
        })
    }

    /// `GET /`, `/events`, `/instructors`, `/search`, `/dashboard` (HTML) and `/health`.
    pub(crate) fn page(&self, path: &str) -> Resp {
        if path == "/health" {
            self.meetings.health();
            return json(
                StatusCode::OK,
                Bytes::from_static(br#"{"status":"ok","database":"ok","cache":"ok"}"#),
            );
        }
        self.portal.page(path)
    }
}

async fn read_call(req: Request<Incoming>) -> Option<Call> {
    let (parts, body) = req.into_parts();
    let segs = parts
        .uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect();
    let query = url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let body = if matches!(parts.method, Method::POST | Method::PUT) {
        Limited::new(body, MAX_BODY)
            .collect()
            .await
            .ok()?
            .to_bytes()
    } else {
        Bytes::new()
    };
    Some(Call {
        method: parts.method,
        segs,
        query,
        bearer,
        body,
    })
}

/// A JSON answer from a value.
pub(crate) fn answer(status: StatusCode, v: &Value) -> Resp {
    json(status, Bytes::from(v.to_string()))
}

/// `{"error": msg}` with `status`.
pub(crate) fn error(status: StatusCode, msg: &str) -> Resp {
    answer(status, &serde_json::json!({ "error": msg }))
}

/// A small HTML page.
pub(crate) fn html(body: String) -> Resp {
    let mut resp = hyper::Response::new(TargetBody::full(Bytes::from(body)));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// The demo counters as Prometheus text lines (`demo_<name>_total`).
pub(crate) fn prometheus(s: &TargetStats) -> String {
    let d = &s.demo;
    let rows: [(&str, u64); 16] = [
        ("webhooks_valid", s.webhooks_valid),
        ("webhooks_invalid", s.webhooks_invalid),
        ("webhooks_duplicate", s.webhooks_duplicate),
        ("rsvp_accepted", d.rsvp_accepted),
        ("rsvp_rejected", d.rsvp_rejected),
        ("rsvp_duplicate", d.rsvp_duplicate),
        ("rsvp_overbooked", d.rsvp_overbooked),
        ("feed_reads", d.feed_reads),
        ("posts_created", d.posts_created),
        ("notifications_accepted", s.notifications_accepted),
        ("notifications_rejected", s.notifications_rejected),
        ("profile_activity_pages", d.profile_activity_pages),
        ("tasks_created", d.tasks_created),
        ("meetings_created", d.meetings_created),
        ("cache_purges", s.cache_purges),
        ("cache_misses", s.cache_misses),
    ];
    let mut out = String::new();
    for (name, v) in rows {
        out.push_str(&format!(
            "# TYPE demo_{name}_total counter\ndemo_{name}_total {v}\n"
        ));
    }
    out.push_str(&format!(
        "# TYPE demo_rsvp_capacity gauge\ndemo_rsvp_capacity {}\n",
        d.rsvp_capacity
    ));
    out
}
