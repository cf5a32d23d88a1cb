//! Event RSVPs with capacity enforcement that never overbooks (seeds 002 and 004).
//!
//! `POST /api/events/{id}/rsvp` with `{"user": "..."}` → 201 `{"status": "confirmed", …}` while
//! the event has room, 409 once it holds `rsvp_capacity` bookings (default 500, set through
//! `POST /_control`), and 200 with `"duplicate": true` when that user already holds a booking
//! (idempotent: never a second seat). The check and the insert happen under one mutex, so
//! concurrent requests cannot overbook; `rsvp_overbooked` counts acceptances that would leave
//! an event above capacity and exists to prove it stays 0. `GET /api/events/{id}` shows the
//! event with its `spots_left`.
//!
//! Two controls make it a faulty system for tests of the enforcement thresholds:
//! `rsvp_overbook: true` stops enforcing the capacity (every RSVP is confirmed, `rsvp_overbooked`
//! counts the seats above it) and `rsvp_dedup: false` books a repeated RSVP as a new seat.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use hyper::http::StatusCode;
use serde_json::json;

use super::demo::{Call, DemoStats, answer, error};
use super::routes::Resp;

pub const DEFAULT_CAPACITY: u64 = 500;
/// Distinct events tracked before the bookings start over (bounds memory).
const MAX_EVENTS: usize = 10_000;

#[derive(Debug)]
pub(crate) struct Rsvp {
    capacity: AtomicU64,
    books: Mutex<HashMap<String, HashSet<String>>>,
    accepted: AtomicU64,
    rejected: AtomicU64,
    duplicate: AtomicU64,
    overbooked: AtomicU64,
    views: AtomicU64,
    /// Faults: capacity not enforced / repeated RSVPs not deduplicated.
    overbook: AtomicBool,
    no_dedup: AtomicBool,
}

impl Default for Rsvp {
    fn default() -> Self {
        Rsvp {
            capacity: AtomicU64::new(DEFAULT_CAPACITY),
            books: Mutex::default(),
            accepted: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            duplicate: AtomicU64::new(0),
            overbooked: AtomicU64::new(0),
            views: AtomicU64::new(0),
            overbook: AtomicBool::new(false),
            no_dedup: AtomicBool::new(false),
        }
    }
}

/// What one RSVP attempt did.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Confirmed(u64),
    Duplicate,
    Full,
}

impl Rsvp {
    fn books(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashSet<String>>> {
        self.books.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set_capacity(&self, n: u64) {
        // Under the lock, so no booking decision sees half of a change.
        let _g = self.books();
        self.capacity.store(n, Relaxed);
    }

    /// `rsvp_overbook` / `rsvp_dedup` (see the module doc).
    pub(crate) fn set_faults(&self, overbook: Option<bool>, dedup: Option<bool>) {
        if let Some(b) = overbook {
            self.overbook.store(b, Relaxed);
        }
        if let Some(b) = dedup {
            self.no_dedup.store(!b, Relaxed);
        }
    }

    pub(crate) fn reset(&self) {
        self.books().clear();
    }

    pub(crate) fn fill(&self, d: &mut DemoStats) {
        d.rsvp_accepted = self.accepted.load(Relaxed);
        d.rsvp_rejected = self.rejected.load(Relaxed);
        d.rsvp_duplicate = self.duplicate.load(Relaxed);
        d.rsvp_overbooked = self.overbooked.load(Relaxed);
        d.rsvp_capacity = self.capacity.load(Relaxed);
        d.event_views = self.views.load(Relaxed);
    }

    fn book(&self, event: &str, user: &str) -> Outcome {
        let mut books = self.books();
        let capacity = self.capacity.load(Relaxed);
        if !books.contains_key(event) && books.len() >= MAX_EVENTS {
            books.clear();
        }
        let seats = books.entry(event.to_owned()).or_default();
        let mut seat_key = user.to_owned();
        if seats.contains(user) {
            if !self.no_dedup.load(Relaxed) {
                return Outcome::Duplicate;
            }
            // Faulty: a second seat for the same attendee.
            seat_key = format!("{user}#{}", seats.len());
        }
        if seats.len() as u64 >= capacity && !self.overbook.load(Relaxed) {
            return Outcome::Full;
        }
        seats.insert(seat_key);
        if seats.len() as u64 > capacity {
            self.overbooked.fetch_add(1, Relaxed);
        }
        Outcome::Confirmed(seats.len() as u64)
    }

    /// `POST /api/events/{id}/rsvp`.
    pub(crate) fn rsvp(&self, call: &Call) -> Resp {
        let event = &call.segs[2];
        let body = call.json().unwrap_or_default();
        let user = match body.get("user") {
            Some(serde_json::Value::String(s)) if !s.is_empty() && s.len() <= 200 => s.clone(),
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "user (a non-empty string) is required",
                );
            }
        };
        match self.book(event, &user) {
            Outcome::Confirmed(seat) => {
                self.accepted.fetch_add(1, Relaxed);
                answer(
                    StatusCode::CREATED,
                    &json!({
                        "status": "confirmed",
                        "rsvp_id": format!("{event}-{seat}"),
                        "event": event,
                        "confirmation_sent": true,
                    }),
                )
            }
            Outcome::Duplicate => {
                self.duplicate.fetch_add(1, Relaxed);
                answer(
                    StatusCode::OK,
                    &json!({ "status": "confirmed", "event": event, "duplicate": true }),
                )
            }
            Outcome::Full => {
                self.rejected.fetch_add(1, Relaxed);
                error(StatusCode::CONFLICT, "event is full")
            }
        }
    }

    /// `GET /api/events/{id}`.
    pub(crate) fn event(&self, call: &Call) -> Resp {
        let event = &call.segs[2];
        self.views.fetch_add(1, Relaxed);
        let capacity = self.capacity.load(Relaxed);
        let taken = self
            .books()
            .get(event.as_str())
            .map_or(0, |s| s.len() as u64);
        answer(
            StatusCode::OK,
            &json!({
                "id": event,
                "title": format!("Event {event}"),
                "capacity": capacity,
                "spots_left": capacity.saturating_sub(taken),
                "price_cents": 0,
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn concurrent_bookings_never_exceed_capacity() {
        let r = Arc::new(Rsvp::default());
        r.set_capacity(50);
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let r = Arc::clone(&r);
                std::thread::spawn(move || {
                    (0..40)
                        .filter(|i| {
                            matches!(r.book("e", &format!("u{t}-{i}")), Outcome::Confirmed(_))
                        })
                        .count()
                })
            })
            .collect();
        let ok: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(ok, 50);
        assert_eq!(r.book("e", "late"), Outcome::Full);
        r.reset();
        assert_eq!(r.book("e", "x"), Outcome::Confirmed(1));
        assert_eq!(r.book("e", "x"), Outcome::Duplicate);
        assert_eq!(r.overbooked.load(Relaxed), 0);
    }

    #[test]
    fn the_faults_overbook_and_double_book() {
        let r = Rsvp::default();
        r.set_capacity(1);
        r.set_faults(Some(true), Some(false));
        assert_eq!(r.book("e", "a"), Outcome::Confirmed(1));
        assert_eq!(r.book("e", "a"), Outcome::Confirmed(2), "a second seat");
        assert_eq!(r.book("e", "b"), Outcome::Confirmed(3), "above capacity");
        assert_eq!(r.overbooked.load(Relaxed), 2);
    }
}
