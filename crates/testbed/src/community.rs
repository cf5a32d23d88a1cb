//! Seeds 000 and 001: community feed, post creation and per-token profile activity.
//!
//! - `GET /api/communities/{1..3}/feed?page_size=N&cursor=fK` → `{items: [...], next_cursor}`;
//!   each community has 20 pages of deterministic posts (404 for another community).
//! - `POST /api/posts` (a JSON object) → 201 `{"id": "post-N"}`.
//! - `GET /api/profile/activity?cursor=pgK&page_size=N` needs `Authorization: Bearer
//!   load-token-NNN` with NNN in 001..=100 (the seeder's credentials), else 401; the number of
//!   pages is the fault config's `activity_pages` (default 5).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use hyper::http::StatusCode;
use serde_json::json;

use super::demo::{Call, DemoStats, answer, error};
use super::faults::FaultConfig;
use super::routes::Resp;

const COMMUNITIES: u32 = 3;
const FEED_PAGES: u32 = 20;
const MAX_PAGE_SIZE: usize = 200;
/// Tokens `load-token-001` ..= `load-token-100` are known.
const KNOWN_TOKENS: u32 = 100;

#[derive(Debug, Default)]
pub(crate) struct Community {
    feed_reads: AtomicU64,
    posts: AtomicU64,
    activity_pages: AtomicU64,
    unauthorized: AtomicU64,
}

/// Whether a bearer token belongs to the seeded load-test credentials.
pub(crate) fn known_token(token: Option<&str>) -> bool {
    token
        .and_then(|t| t.strip_prefix("load-token-"))
        .filter(|n| n.len() == 3)
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| (1..=KNOWN_TOKENS).contains(&n))
}

/// A 400 message on bad input.
type Bad = &'static str;

fn page_size(call: &Call, default: usize) -> Result<usize, Bad> {
    match call.q("page_size") {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
            _ => Err("page_size must be within 1..=200"),
        },
    }
}

/// Page number of a cursor `<prefix>K` (none or empty = page 1).
fn cursor(call: &Call, prefix: &str, pages: u32) -> Result<u32, Bad> {
    match call.q("cursor").filter(|c| !c.is_empty()) {
        None => Ok(1),
        Some(c) => c
            .strip_prefix(prefix)
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| (1..=pages).contains(n))
            .ok_or("unknown cursor"),
    }
}

impl Community {
    pub(crate) fn fill(&self, d: &mut DemoStats) {
        d.feed_reads = self.feed_reads.load(Relaxed);
        d.posts_created = self.posts.load(Relaxed);
        d.profile_activity_pages = self.activity_pages.load(Relaxed);
        d.profile_activity_unauthorized = self.unauthorized.load(Relaxed);
    }

    pub(crate) fn route(&self, faults: &FaultConfig, call: &Call) -> Resp {
        match call.segs.get(1).map(String::as_str) {
            Some("communities") => self.feed(call),
            Some("posts") => self.post(call),
            _ => self.activity(faults.activity_pages(), call),
        }
    }

    fn feed(&self, call: &Call) -> Resp {
        let community = call.segs[2].parse::<u32>().ok();
        let Some(community) = community.filter(|c| (1..=COMMUNITIES).contains(c)) else {
            return error(StatusCode::NOT_FOUND, "no such community");
        };
        let (size, page) = match (page_size(call, 50), cursor(call, "f", FEED_PAGES)) {
            (Ok(s), Ok(p)) => (s, p),
            (Err(m), _) | (_, Err(m)) => return error(StatusCode::BAD_REQUEST, m),
        };
        self.feed_reads.fetch_add(1, Relaxed);
        let items: Vec<_> = (0..size)
            .map(|i| {
                let n = (page as usize - 1) * size + i;
                json!({
                    "id": format!("c{community}-post-{n}"),
                    "author": format!("member-{:03}", n % 120 + 1),
                    "text": "Load Test Guild post",
                    "reactions": n % 30,
                    "comments": n % 12,
                })
            })
            .collect();
        let next = (page < FEED_PAGES).then(|| format!("f{}", page + 1));
        answer(
            StatusCode::OK,
            &json!({ "community": community, "items": items, "next_cursor": next }),
        )
    }

    fn post(&self, call: &Call) -> Resp {
        if call.json().is_none() {
            return error(StatusCode::BAD_REQUEST, "expected a JSON object");
        }
        let n = self.posts.fetch_add(1, Relaxed) + 1;
        answer(
            StatusCode::CREATED,
            &json!({ "id": format!("post-{n}"), "status": "published" }),
        )
    }

    fn activity(&self, pages: u32, call: &Call) -> Resp {
        if !known_token(call.bearer.as_deref()) {
            self.unauthorized.fetch_add(1, Relaxed);
            return error(StatusCode::UNAUTHORIZED, "a known bearer token is required");
        }
        let (size, page) = match (page_size(call, 50), cursor(call, "pg", pages)) {
            (Ok(s), Ok(p)) => (s, p),
            (Err(m), _) | (_, Err(m)) => return error(StatusCode::BAD_REQUEST, m),
        };
        self.activity_pages.fetch_add(1, Relaxed);
        let items: Vec<_> = (0..size)
            .map(|i| {
                let kind = ["post", "comment", "reaction", "points"][i % 4];
                json!({ "id": format!("act-{page}-{i}"), "kind": kind })
            })
            .collect();
        let next = (page < pages).then(|| format!("pg{}", page + 1));
        answer(
            StatusCode::OK,
            &json!({ "items": items, "page": page, "next_cursor": next }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_seeded_tokens_are_known() {
        assert!(known_token(Some("load-token-001")));
        assert!(known_token(Some("load-token-100")));
        assert!(!known_token(Some("load-token-101")));
        assert!(!known_token(Some("load-token-1")));
        assert!(!known_token(None));
    }
}
