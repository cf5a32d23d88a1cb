//! Emulated seed APIs that let tests verify realistic traffic from the target's side.
//!
//! - `POST /api/items` (JSON body) → 201 `{"id": …}`; `GET /api/items/{id}` → 200 when this
//!   target issued the id, else 404. Ids are `<per-target prefix>-<n>`, so checking one costs no
//!   memory however long a demo runs.
//! - `POST /webhooks/stripe` verifies `Stripe-Signature: t=<ts>,v1=<hex hmac_sha256(secret,
//!   ts + "." + raw body)>` (5 minute tolerance) with the secret set through `POST /_control`,
//!   and deduplicates by the body's `"id"`: a redelivered event (same id) is answered 200
//!   `{"received": true, "duplicate": true}` and not processed again. `POST /_control
//!   {"webhook_dedup": false}` makes it a receiver without idempotency (every delivery is
//!   processed and answered as new), for tests that the duplicate checks catch one.
//! - `GET /api/activity?cursor=pN&page_size=N` serves a fixed cursor-paginated feed.
//! - `GET /api/whoami` with a bearer token records which tokens were seen (bounded).

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, RwLock};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::http::{Method, Request, StatusCode, header};
use sha2::Sha256;

use super::faults::FaultConfig;
use super::routes::{Resp, TargetStats, bad_request, json};

/// Largest JSON body the API routes accept.
const MAX_API_BODY: usize = 1024 * 1024;
/// Distinct bearer tokens remembered by `/api/whoami`; more are counted as `tokens_overflow`.
pub const MAX_TOKENS_SEEN: usize = 1000;
/// Webhook ids remembered for idempotency before the memory starts over.
const MAX_WEBHOOK_IDS: usize = 1_000_000;
/// How far a webhook timestamp may be from now, in seconds (Stripe's default).
const WEBHOOK_TOLERANCE_SECS: i64 = 300;
/// Largest page of the activity feed.
const MAX_PAGE_SIZE: usize = 500;

/// State and counters of the API routes.
pub(crate) struct Api {
    prefix: String,
    items_created: AtomicU64,
    items_fetched_ok: AtomicU64,
    items_fetched_unknown: AtomicU64,
    secret: RwLock<Option<String>>,
    webhooks_valid: AtomicU64,
    webhooks_invalid: AtomicU64,
    webhooks_duplicate: AtomicU64,
    webhook_ids: Mutex<HashSet<String>>,
    /// Off: no idempotency, a redelivery is processed again (and counted as a duplicate).
    webhook_dedup: std::sync::atomic::AtomicBool,
    activity_pages_served: AtomicU64,
    tokens: Mutex<BTreeMap<String, u64>>,
    tokens_overflow: AtomicU64,
}

impl Default for Api {
    fn default() -> Self {
        let u = uuid::Uuid::new_v4().simple().to_string();
        Api {
            prefix: format!("it{}", &u[..8]),
            items_created: AtomicU64::new(0),
            items_fetched_ok: AtomicU64::new(0),
            items_fetched_unknown: AtomicU64::new(0),
            secret: RwLock::new(None),
            webhooks_valid: AtomicU64::new(0),
            webhooks_invalid: AtomicU64::new(0),
            webhooks_duplicate: AtomicU64::new(0),
            webhook_ids: Mutex::new(HashSet::new()),
            webhook_dedup: std::sync::atomic::AtomicBool::new(true),
            activity_pages_served: AtomicU64::new(0),
            tokens: Mutex::new(BTreeMap::new()),
            tokens_overflow: AtomicU64::new(0),
        }
    }
}

/// Never shows the webhook secret or the tokens.
impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Api")
    }
}

impl Api {
    /// Sets (or with None clears) the webhook signing secret.
    pub(crate) fn set_webhook_secret(&self, secret: Option<String>) {
        match self.secret.write() {
            Ok(mut g) => *g = secret,
            Err(p) => *p.into_inner() = secret,
        }
    }

    /// Takes `webhook_dedup` off a `/_control` update and returns the rest.
    pub(crate) fn take_controls(
        &self,
        mut patch: serde_json::Map<String, serde_json::Value>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, super::faults::FaultError> {
        if let Some(v) = patch.remove("webhook_dedup") {
            let on = v.as_bool().ok_or_else(|| {
                super::faults::FaultError::Invalid("webhook_dedup must be true or false".into())
            })?;
            self.webhook_dedup.store(on, Relaxed);
        }
        Ok(patch)
    }

    pub(crate) fn fill(&self, s: &mut TargetStats) {
        s.items_created = self.items_created.load(Relaxed);
        s.items_fetched_ok = self.items_fetched_ok.load(Relaxed);
        s.items_fetched_unknown = self.items_fetched_unknown.load(Relaxed);
        s.webhooks_valid = self.webhooks_valid.load(Relaxed);
        s.webhooks_invalid = self.webhooks_invalid.load(Relaxed);
        s.webhooks_duplicate = self.webhooks_duplicate.load(Relaxed);
        s.activity_pages_served = self.activity_pages_served.load(Relaxed);
        s.tokens_seen = lock(&self.tokens).clone();
        s.tokens_overflow = self.tokens_overflow.load(Relaxed);
    }

    pub(crate) async fn route(&self, faults: &FaultConfig, req: Request<Incoming>) -> Resp {
        let path = req.uri().path().to_owned();
        match (req.method().clone(), path.as_str()) {
            (Method::POST, "/api/items") => self.create_item(req).await,
            (Method::GET, p) if p.starts_with("/api/items/") => {
                self.get_item(&p["/api/items/".len()..])
            }
            (Method::POST, "/webhooks/stripe") => self.webhook(req).await,
            (Method::GET, "/api/activity") => self.activity(faults.activity_pages(), &req),
            (Method::GET, "/api/whoami") => self.whoami(&req),
            _ => not_found(),
        }
    }

    async fn create_item(&self, req: Request<Incoming>) -> Resp {
        let Some(body) = read_body(req).await else {
            return bad_request("body too large or aborted");
        };
        if serde_json::from_slice::<serde_json::Value>(&body).is_err() {
            return bad_request("expected a JSON body");
        }
        let n = self.items_created.fetch_add(1, Relaxed) + 1;
        let out = serde_json::json!({ "id": format!("{}-{n}", self.prefix) });
        json(StatusCode::CREATED, Bytes::from(out.to_string()))
    }

    fn get_item(&self, id: &str) -> Resp {
        let issued = id
            .strip_prefix(&self.prefix)
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n >= 1 && n <= self.items_created.load(Relaxed));
        if issued {
            self.items_fetched_ok.fetch_add(1, Relaxed);
            let out = serde_json::json!({ "id": id });
            json(StatusCode::OK, Bytes::from(out.to_string()))
        } else {
            self.items_fetched_unknown.fetch_add(1, Relaxed);
            not_found()
        }
    }

    async fn webhook(&self, req: Request<Incoming>) -> Resp {
        let sig = req
            .headers()
            .get("stripe-signature")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let Some(body) = read_body(req).await else {
            return bad_request("body too large or aborted");
        };
        let secret = match self.secret.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let now = chrono::Utc::now().timestamp();
        let valid = match (secret, sig) {
            (Some(secret), Some(sig)) => verify(&secret, &sig, &body, now),
            _ => false,
        };
        if !valid {
            self.webhooks_invalid.fetch_add(1, Relaxed);
            return bad_request("invalid signature");
        }
        let id = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| match v.get("id")? {
                serde_json::Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            });
        let fresh = match id {
            Some(id) => {
                let mut seen = lock(&self.webhook_ids);
                if seen.len() >= MAX_WEBHOOK_IDS {
                    seen.clear();
                }
                seen.insert(id)
            }
            None => true,
        };
        if !fresh && !self.webhook_dedup.load(Relaxed) {
            // No idempotency: processed a second time, answered as new.
            self.webhooks_duplicate.fetch_add(1, Relaxed);
            return json(StatusCode::OK, Bytes::from_static(br#"{"received":true}"#));
        }
        if fresh {
            self.webhooks_valid.fetch_add(1, Relaxed);
            json(StatusCode::OK, Bytes::from_static(br#"{"received":true}"#))
        } else {
            self.webhooks_duplicate.fetch_add(1, Relaxed);
            json(
                StatusCode::OK,
                Bytes::from_static(br#"{"received":true,"duplicate":true}"#),
            )
        }
    }

    fn activity(&self, pages: u32, req: &Request<Incoming>) -> Resp {
        let mut page = 1u32;
        let mut size = 50usize;
        for (k, v) in url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "cursor" => match v.strip_prefix('p').and_then(|n| n.parse::<u32>().ok()) {
                    Some(n) if (1..=pages).contains(&n) => page = n,
                    _ => return bad_request("unknown cursor"),
                },
                "page_size" => match v.parse::<usize>() {
                    Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => size = n,
                    _ => return bad_request("page_size must be within 1..=500"),
                },
                _ => {}
            }
        }
        self.activity_pages_served.fetch_add(1, Relaxed);
        let items: Vec<serde_json::Value> = (0..size)
            .map(|i| serde_json::json!({ "id": format!("a{page}-{i}"), "kind": "post" }))
            .collect();
        let next = (page < pages).then(|| format!("p{}", page + 1));
        let out = serde_json::json!({ "items": items, "page": page, "next_cursor": next });
        json(StatusCode::OK, Bytes::from(out.to_string()))
    }

    fn whoami(&self, req: &Request<Incoming>) -> Resp {
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let Some(token) = token else {
            return json(
                StatusCode::UNAUTHORIZED,
                Bytes::from_static(br#"{"error":"bearer token required"}"#),
            );
        };
        let mut tokens = lock(&self.tokens);
        let room = tokens.len() < MAX_TOKENS_SEEN;
        match tokens.get_mut(token) {
            Some(n) => *n += 1,
            None if room => {
                tokens.insert(token.to_owned(), 1);
            }
            None => {
                self.tokens_overflow.fetch_add(1, Relaxed);
            }
        }
        json(StatusCode::OK, Bytes::from_static(br#"{"ok":true}"#))
    }
}

/// Checks a `t=<ts>,v1=<hex>` header (any of several `v1` may match) against the raw body.
pub(crate) fn verify(secret: &str, header: &str, body: &[u8], now: i64) -> bool {
    let mut ts = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => ts = Some(v),
            Some(("v1", v)) => sigs.push(v),
            _ => {}
        }
    }
    let Some(ts) = ts else { return false };
    if ts
        .parse::<i64>()
        .map_or(true, |t| (now - t).abs() > WEBHOOK_TOLERANCE_SECS)
    {
        return false;
    }
    sigs.iter().any(|sig| {
        let Ok(expected) = hex::decode(sig) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            return false;
        };
        mac.update(ts.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&expected).is_ok()
    })
}

async fn read_body(req: Request<Incoming>) -> Option<Bytes> {
    Limited::new(req.into_body(), MAX_API_BODY)
        .collect()
        .await
        .ok()
        .map(|c| c.to_bytes())
}

fn not_found() -> Resp {
    json(
        StatusCode::NOT_FOUND,
        Bytes::from_static(br#"{"error":"not found"}"#),
    )
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, ts: i64, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{ts}.{body}").as_bytes());
        format!("t={ts},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn stripe_signatures_cover_timestamp_and_exact_body() {
        let h = sign("whsec", 1000, r#"{"id":"e1"}"#);
        assert!(verify("whsec", &h, br#"{"id":"e1"}"#, 1010));
        assert!(
            !verify("whsec", &h, br#"{"id":"e1" }"#, 1010),
            "other bytes"
        );
        assert!(
            !verify("other", &h, br#"{"id":"e1"}"#, 1010),
            "other secret"
        );
        assert!(!verify("whsec", &h, br#"{"id":"e1"}"#, 2000), "too old");
        assert!(!verify("whsec", "v1=00", b"{}", 0), "no timestamp");
    }
}
