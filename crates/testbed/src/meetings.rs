//! Seed 003 (Mina): meetings and tasks CRUD, analytics, settings and the health counter.
//!
//! 1000 meetings and 500 tasks exist from the start (deterministic); created ones get the next
//! ids. `GET /api/meetings?page=&per_page=`, `GET|PUT /api/meetings/{id}`, `POST /api/meetings`
//! (201), `GET /api/tasks?status=`, `POST /api/tasks` (201), `PUT /api/tasks/{id}`,
//! `DELETE /api/tasks/{id}` (204; a deleted task is 404 afterwards), `GET
//! /api/analytics/dashboard?days=`, `GET /api/analytics/trends?days=`, `GET /api/settings`.
//! Writes need a JSON object body (else 400); unknown ids are 404.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use hyper::http::{Method, StatusCode};
use serde_json::json;

use super::demo::{Call, DemoStats, answer, error};
use super::routes::Resp;

const SEED_MEETINGS: u64 = 1000;
const SEED_TASKS: u64 = 500;
/// Deleted task ids remembered before the memory starts over.
const MAX_DELETED: usize = 1_000_000;

#[derive(Debug, Default)]
pub(crate) struct Meetings {
    meetings_created: AtomicU64,
    meetings_updated: AtomicU64,
    tasks_created: AtomicU64,
    tasks_updated: AtomicU64,
    tasks_deleted: AtomicU64,
    analytics: AtomicU64,
    health: AtomicU64,
    deleted: Mutex<HashSet<u64>>,
}

fn not_found() -> Resp {
    error(StatusCode::NOT_FOUND, "not found")
}

fn days(call: &Call) -> Option<u64> {
    match call.q("days").map(str::parse::<u64>) {
        None => Some(7),
        Some(Ok(d)) if (1..=365).contains(&d) => Some(d),
        Some(_) => None,
    }
}

impl Meetings {
    pub(crate) fn fill(&self, d: &mut DemoStats) {
        d.meetings_created = self.meetings_created.load(Relaxed);
        d.meetings_updated = self.meetings_updated.load(Relaxed);
        d.tasks_created = self.tasks_created.load(Relaxed);
        d.tasks_updated = self.tasks_updated.load(Relaxed);
        d.tasks_deleted = self.tasks_deleted.load(Relaxed);
        d.analytics_served = self.analytics.load(Relaxed);
        d.health_checks = self.health.load(Relaxed);
    }

    pub(crate) fn health(&self) {
        self.health.fetch_add(1, Relaxed);
    }

    fn deleted(&self) -> std::sync::MutexGuard<'_, HashSet<u64>> {
        self.deleted.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn meeting_exists(&self, id: u64) -> bool {
        id >= 1 && id <= SEED_MEETINGS + self.meetings_created.load(Relaxed)
    }

    fn task_exists(&self, id: u64) -> bool {
        id >= 1
            && id <= SEED_TASKS + self.tasks_created.load(Relaxed)
            && !self.deleted().contains(&id)
    }

    pub(crate) fn route(&self, call: &Call) -> Resp {
        let segs: Vec<&str> = call.segs.iter().map(String::as_str).collect();
        let id = segs.get(2).and_then(|s| s.parse::<u64>().ok());
        let m = &call.method;
        match (segs.get(1).copied(), segs.len()) {
            (Some("settings"), 2) => answer(
                StatusCode::OK,
                &json!({ "language": "en", "notifications": true, "timezone": "UTC" }),
            ),
            (Some("analytics"), 3) => self.analytics(call, segs[2]),
            (Some("meetings"), 2) if m == Method::GET => Self::meetings(call),
            (Some("meetings"), 2) if m == Method::POST => {
                self.create(call, &self.meetings_created, SEED_MEETINGS)
            }
            (Some("meetings"), 3) => match (m, id) {
                (&Method::GET, Some(id)) if self.meeting_exists(id) => answer(
                    StatusCode::OK,
                    &json!({ "id": id, "title": format!("Meeting {id}"), "duration_min": 30 + id % 60 }),
                ),
                (&Method::PUT, Some(id)) if self.meeting_exists(id) => {
                    self.update(call, id, &self.meetings_updated)
                }
                _ => not_found(),
            },
            (Some("tasks"), 2) if m == Method::GET => Self::tasks(call),
            (Some("tasks"), 2) if m == Method::POST => {
                self.create(call, &self.tasks_created, SEED_TASKS)
            }
            (Some("tasks"), 3) => match (m, id) {
                (&Method::GET, Some(id)) if self.task_exists(id) => {
                    answer(StatusCode::OK, &json!({ "id": id, "status": "pending" }))
                }
                (&Method::PUT, Some(id)) if self.task_exists(id) => {
                    self.update(call, id, &self.tasks_updated)
                }
                (&Method::DELETE, Some(id)) if self.task_exists(id) => self.delete_task(id),
                _ => not_found(),
            },
            _ => not_found(),
        }
    }

    fn create(&self, call: &Call, counter: &AtomicU64, seeded: u64) -> Resp {
        if call.json().is_none() {
            return error(StatusCode::BAD_REQUEST, "expected a JSON object");
        }
        let id = seeded + counter.fetch_add(1, Relaxed) + 1;
        answer(StatusCode::CREATED, &json!({ "id": id }))
    }

    fn update(&self, call: &Call, id: u64, counter: &AtomicU64) -> Resp {
        if call.json().is_none() {
            return error(StatusCode::BAD_REQUEST, "expected a JSON object");
        }
        counter.fetch_add(1, Relaxed);
        answer(StatusCode::OK, &json!({ "id": id, "updated": true }))
    }

    fn delete_task(&self, id: u64) -> Resp {
        {
            let mut d = self.deleted();
            if d.len() >= MAX_DELETED {
                d.clear();
            }
            if !d.insert(id) {
                return not_found();
            }
        }
        self.tasks_deleted.fetch_add(1, Relaxed);
        let mut resp = answer(StatusCode::NO_CONTENT, &json!({}));
        *resp.body_mut() = super::body::TargetBody::empty();
        resp
    }

    fn meetings(call: &Call) -> Resp {
        let num = |k: &str, d: u64| call.q(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(d);
        let (page, per_page) = (num("page", 1).max(1), num("per_page", 20).clamp(1, 100));
        let first = (page - 1) * per_page + 1;
        let list: Vec<_> = (first..first + per_page)
            .filter(|id| *id <= SEED_MEETINGS)
            .map(|id| json!({ "id": id, "title": format!("Meeting {id}") }))
            .collect();
        answer(
            StatusCode::OK,
            &json!({ "meetings": list, "page": page, "per_page": per_page, "total": SEED_MEETINGS }),
        )
    }

    fn tasks(call: &Call) -> Resp {
        let status = call.q("status").unwrap_or("pending").to_owned();
        let list: Vec<_> = (1..=20)
            .map(|id| json!({ "id": id, "status": status }))
            .collect();
        answer(StatusCode::OK, &json!({ "tasks": list, "status": status }))
    }

    fn analytics(&self, call: &Call, which: &str) -> Resp {
        let Some(d) = days(call) else {
            return error(StatusCode::BAD_REQUEST, "days must be within 1..=365");
        };
        if call.method != Method::GET || !matches!(which, "dashboard" | "trends") {
            return not_found();
        }
        self.analytics.fetch_add(1, Relaxed);
        let series: Vec<_> = (0..d)
            .map(|i| json!({ "day": i, "meetings": 10 + i % 7 }))
            .collect();
        answer(
            StatusCode::OK,
            &json!({ "kind": which, "days": d, "series": series, "tasks_completed": d * 3 }),
        )
    }
}
