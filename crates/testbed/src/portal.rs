//! Seeds 002 and 004 (WWMAA): search, auth, events list, subscriptions and static pages.
//!
//! - `GET /api/search?q=&type=simple|filtered|semantic|complex`: deterministic results after a
//!   latency that grows with the type (5, 15, 60, 120 ms); another type is a 400.
//! - `POST /api/auth/login` with `{"email", "password"}` (both non-empty) → 200
//!   `{"token": "sess-N"}`, else 401.
//! - `GET /api/events` → 20 upcoming events; `GET /api/subscriptions` needs a bearer token
//!   (a seeded `load-token-NNN` or one issued by login), else 401.
//! - `GET /`, `/events`, `/instructors`, `/search`, `/dashboard`: small HTML pages.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use hyper::http::{Method, StatusCode};
use serde_json::json;

use super::community::known_token;
use super::demo::{Call, DemoStats, answer, error, html};
use super::routes::Resp;

/// Search kinds and their built-in latency in ms.
const SEARCH: [(&str, u64); 4] = [
    ("simple", 5),
    ("filtered", 15),
    ("semantic", 60),
    ("complex", 120),
];

#[derive(Debug, Default)]
pub(crate) struct Portal {
    searches: [AtomicU64; 4],
    logins: AtomicU64,
    events_listed: AtomicU64,
    subscriptions: AtomicU64,
    pages: AtomicU64,
}

impl Portal {
    pub(crate) fn fill(&self, d: &mut DemoStats) {
        let s = |i: usize| self.searches[i].load(Relaxed);
        d.searches_simple = s(0);
        d.searches_filtered = s(1);
        d.searches_semantic = s(2);
        d.searches_complex = s(3);
        d.logins = self.logins.load(Relaxed);
        d.events_listed = self.events_listed.load(Relaxed);
        d.subscriptions_listed = self.subscriptions.load(Relaxed);
        d.pages_served = self.pages.load(Relaxed);
    }

    pub(crate) async fn route(&self, call: &Call) -> Resp {
        match (&call.method, call.segs.get(1).map(String::as_str)) {
            (&Method::GET, Some("search")) => self.search(call).await,
            (&Method::POST, Some("auth")) => self.login(call),
            (&Method::GET, Some("events")) => self.events(),
            (&Method::GET, Some("subscriptions")) => self.subscriptions(call),
            _ => error(StatusCode::NOT_FOUND, "not found"),
        }
    }

    async fn search(&self, call: &Call) -> Resp {
        let kind = call.q("type").unwrap_or("simple");
        let Some(i) = SEARCH.iter().position(|(k, _)| *k == kind) else {
            return error(
                StatusCode::BAD_REQUEST,
                "type must be simple, filtered, semantic or complex",
            );
        };
        let q = call.q("q").unwrap_or("");
        if q.trim().is_empty() {
            return error(StatusCode::BAD_REQUEST, "q is required");
        }
        tokio::time::sleep(Duration::from_millis(SEARCH[i].1)).await;
        self.searches[i].fetch_add(1, Relaxed);
        let hash = q
            .bytes()
            .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
        let results: Vec<_> = (0..10)
            .map(|n| {
                let kind = ["video", "article", "instructor", "event"][((hash + n) % 4) as usize];
                json!({
                    "id": format!("content-{}", (hash + n) % 5000),
                    "kind": kind,
                    "score": 1.0 - n as f64 / 10.0,
                })
            })
            .collect();
        answer(
            StatusCode::OK,
            &json!({ "q": q, "type": kind, "total": 40 + hash % 60, "results": results }),
        )
    }

    fn login(&self, call: &Call) -> Resp {
        if call.segs.get(2).map(String::as_str) != Some("login") {
            return error(StatusCode::NOT_FOUND, "not found");
        }
        let body = call.json().unwrap_or_default();
        let filled = |k: &str| {
            body.get(k)
                .and_then(|v| v.as_str())
                .is_some_and(|s| !s.is_empty())
        };
        if !filled("email") || !filled("password") {
            return error(StatusCode::UNAUTHORIZED, "email and password are required");
        }
        let n = self.logins.fetch_add(1, Relaxed) + 1;
        answer(
            StatusCode::OK,
            &json!({ "token": format!("sess-{n}"), "expires_in": 3600 }),
        )
    }

    /// A bearer token from the seeded credentials or issued by login.
    fn authorized(&self, token: Option<&str>) -> bool {
        known_token(token)
            || token
                .and_then(|t| t.strip_prefix("sess-"))
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| n >= 1 && n <= self.logins.load(Relaxed))
    }

    fn events(&self) -> Resp {
        self.events_listed.fetch_add(1, Relaxed);
        let events: Vec<_> = (1..=20)
            .map(|n| {
                json!({
                    "id": format!("evt-{n}"),
                    "title": format!("Seminar {n}"),
                    "starts_at": format!("2026-0{}-1{}T18:00:00Z", n % 9 + 1, n % 10),
                })
            })
            .collect();
        answer(StatusCode::OK, &json!({ "events": events }))
    }

    fn subscriptions(&self, call: &Call) -> Resp {
        if !self.authorized(call.bearer.as_deref()) {
            return error(StatusCode::UNAUTHORIZED, "bearer token required");
        }
        self.subscriptions.fetch_add(1, Relaxed);
        answer(
            StatusCode::OK,
            &json!({ "subscriptions": [ { "tier": "member", "status": "active" } ] }),
        )
    }

    /// The static pages (`is_page` decided the path).
    pub(crate) fn page(&self, path: &str) -> Resp {
        self.pages.fetch_add(1, Relaxed);
        let title = match path {
            "/" => "WWMAA",
            "/events" => "Events",
            "/instructors" => "Instructors",
            "/search" => "Search",
            _ => "Member dashboard",
        };
        html(format!(
            "<!doctype html><html><head><title>{title}</title></head>\
             <body><h1>{title}</h1><main id=\"content\">demo page</main></body></html>"
        ))
    }
}
