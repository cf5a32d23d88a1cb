//! The target as a system under test: SUT metrics for PromQL checks and faults for drills.
//!
//! `GET /metrics` exposes, in Prometheus text format, `demo_memory_ratio` (a memory-like gauge,
//! set with `POST /_control {"memory_ratio": 0.9}`), `demo_queue_depth` and
//! `demo_requests_total`. Drill faults, also through `/_control`:
//!
//! - `{"queue_outage_ms": 3000}` — the notification queue stops for that long. Producers keep
//!   enqueueing (`queue_inflow_per_sec`, default 500 jobs/s, plus every rejected
//!   `POST /api/notifications`), so a backlog grows; afterwards it drains at
//!   `queue_drain_per_sec` (default 1000 jobs/s). While the queue is down or still draining,
//!   `POST /api/notifications` sheds new work with 503; once drained it answers 202 again.
//!   The drain's end, known exactly once the outage is over, is the ground truth of a recovery
//!   drill: `/_stats` shows it as `queue_drained_at_ms`, relative to the outage's start.
//!   Example: 2000 ms outage, 100 rejected requests → backlog 1100 → drained at 3100 ms.
//!   `{"queue_outage_ms": 0}` ends a running outage now (supervisors restored); its backlog
//!   still drains. With no outage running it changes nothing (the last outage's record stays):
//!   a drill whose outage ended on its own before the undo fired is not reset by the undo.
//! - `{"worker_restarts": 1}` — that many queue-worker (Horizon supervisor) restarts happen
//!   now; `demo_worker_restarts_total` counts them, for a "no restarts" SUT check.
//! - `{"failover_5xx": 2}` — the next 2 requests (any route but the management ones) get 503.
//! - `{"queue_latency_ms": 6000}` — added to the queue latency that every 202 of
//!   `POST /api/notifications` reports (`queue_latency_ms` in the body and the
//!   `X-Queue-Latency-Ms` header): a deterministic 50..245 ms, plus the time the current
//!   backlog needs to drain, plus this.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::http::{HeaderValue, StatusCode, header};
use serde_json::{Map, Value};

use super::faults::{FaultError, MAX_DELAY_MS};
use super::routes::{Resp, TargetStats, json};

const DEFAULT_MEMORY_RATIO: f64 = 0.42;
const DEFAULT_INFLOW: f64 = 500.0;
const DEFAULT_DRAIN: f64 = 1000.0;

#[derive(Debug, Clone, Copy)]
struct Outage {
    started: Instant,
    length: Duration,
    /// Requests rejected during the outage (each one is a job enqueued for later).
    rejected: u64,
    inflow: f64,
    drain: f64,
}

impl Outage {
    /// Backlog at the outage's end (fixed once it is over).
    fn peak(&self) -> f64 {
        self.inflow * self.length.as_secs_f64() + self.rejected as f64
    }

    /// Time from the outage's start until the backlog is gone (grows while the outage lasts).
    fn drained_after(&self) -> Duration {
        self.length + Duration::from_secs_f64(self.peak() / self.drain)
    }

    fn depth(&self, now: Instant) -> f64 {
        let e = now.saturating_duration_since(self.started);
        if e < self.length {
            self.inflow * e.as_secs_f64() + self.rejected as f64
        } else {
            (self.peak() - self.drain * (e - self.length).as_secs_f64()).max(0.0)
        }
    }
}

/// SUT state of one target.
#[derive(Debug)]
pub(crate) struct Sut {
    memory_ratio: AtomicU64,
    failover_left: AtomicU64,
    failover_served: AtomicU64,
    inflow: AtomicU64,
    drain: AtomicU64,
    outage: Mutex<Option<Outage>>,
    accepted: AtomicU64,
    rejected: AtomicU64,
    extra_queue_latency_ms: AtomicU64,
    restarts: AtomicU64,
}

impl Default for Sut {
    fn default() -> Self {
        Sut {
            memory_ratio: AtomicU64::new(DEFAULT_MEMORY_RATIO.to_bits()),
            failover_left: AtomicU64::new(0),
            failover_served: AtomicU64::new(0),
            inflow: AtomicU64::new(DEFAULT_INFLOW.to_bits()),
            drain: AtomicU64::new(DEFAULT_DRAIN.to_bits()),
            outage: Mutex::new(None),
            accepted: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            extra_queue_latency_ms: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
        }
    }
}

fn f(a: &AtomicU64) -> f64 {
    f64::from_bits(a.load(Relaxed))
}

impl Sut {
    fn outage(&self) -> std::sync::MutexGuard<'_, Option<Outage>> {
        self.outage.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes this target's SUT keys off a `/_control` update and applies them; returns the
    /// rest (fault settings). All keys are validated before any is applied.
    pub(crate) fn take_controls(
        &self,
        mut patch: Map<String, Value>,
    ) -> Result<Map<String, Value>, FaultError> {
        let bad = |m: &str| FaultError::Invalid(m.to_owned());
        let num = |v: &Value, m: &str| {
            v.as_f64()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| bad(m))
        };
        let memory = patch
            .remove("memory_ratio")
            .map(|v| num(&v, "memory_ratio must be a number >= 0"))
            .transpose()?;
        let inflow = patch
            .remove("queue_inflow_per_sec")
            .map(|v| num(&v, "queue_inflow_per_sec must be a number >= 0"))
            .transpose()?;
        let drain = patch
            .remove("queue_drain_per_sec")
            .map(|v| num(&v, "queue_drain_per_sec must be a number >= 0"))
            .transpose()?;
        if drain == Some(0.0) {
            return Err(bad("queue_drain_per_sec must be > 0"));
        }
        let outage = patch
            .remove("queue_outage_ms")
            .map(|v| match v.as_u64() {
                Some(ms) if ms <= MAX_DELAY_MS => Ok(ms),
                _ => Err(bad(
                    "queue_outage_ms must be an integer of milliseconds <= 600000",
                )),
            })
            .transpose()?;
        let queue_latency = patch
            .remove("queue_latency_ms")
            .map(|v| match v.as_u64() {
                Some(ms) if ms <= MAX_DELAY_MS => Ok(ms),
                _ => Err(bad(
                    "queue_latency_ms must be an integer of milliseconds <= 600000",
                )),
            })
            .transpose()?;
        let failover = patch
            .remove("failover_5xx")
            .map(|v| {
                v.as_u64()
                    .filter(|n| *n <= 1_000_000)
                    .ok_or_else(|| bad("failover_5xx must be a count <= 1000000"))
            })
            .transpose()?;
        let restarts = patch
            .remove("worker_restarts")
            .map(|v| {
                v.as_u64()
                    .filter(|n| *n <= 1_000_000)
                    .ok_or_else(|| bad("worker_restarts must be a count <= 1000000"))
            })
            .transpose()?;
        if let Some(n) = restarts {
            self.restarts.fetch_add(n, Relaxed);
        }
        if let Some(m) = memory {
            self.memory_ratio.store(m.to_bits(), Relaxed);
        }
        if let Some(x) = inflow {
            self.inflow.store(x.to_bits(), Relaxed);
        }
        if let Some(x) = drain {
            self.drain.store(x.to_bits(), Relaxed);
        }
        if let Some(ms) = queue_latency {
            self.extra_queue_latency_ms.store(ms, Relaxed);
        }
        if let Some(ms) = outage {
            let mut g = self.outage();
            let now = Instant::now();
            match g.as_mut() {
                // 0 while an outage runs: it ends now, its backlog drains as usual.
                Some(o) if ms == 0 && now < o.started + o.length => o.length = now - o.started,
                // Supervisors already running: nothing to restore, the record stays.
                _ if ms == 0 => {}
                _ => {
                    *g = Some(Outage {
                        started: now,
                        length: Duration::from_millis(ms),
                        rejected: 0,
                        inflow: f(&self.inflow),
                        drain: f(&self.drain),
                    });
                }
            }
        }
        if let Some(n) = failover {
            self.failover_left.store(n, Relaxed);
        }
        Ok(patch)
    }

    /// A 503 for this request if a failover is in progress (cheap when none is).
    pub(crate) fn failover(&self) -> Option<Resp> {
        if self.failover_left.load(Relaxed) == 0 {
            return None;
        }
        self.failover_left
            .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
            .ok()?;
        self.failover_served.fetch_add(1, Relaxed);
        Some(json(
            StatusCode::SERVICE_UNAVAILABLE,
            Bytes::from_static(br#"{"error":"failover in progress"}"#),
        ))
    }

    /// `POST /api/notifications`: 202, or 503 while the queue is down or draining.
    pub(crate) fn notification(&self) -> Resp {
        let now = Instant::now();
        let shed = {
            let mut g = self.outage();
            match g.as_mut() {
                Some(o) if now < o.started + o.length => {
                    o.rejected += 1;
                    true
                }
                Some(o) => now < o.started + o.drained_after(),
                None => false,
            }
        };
        if shed {
            self.rejected.fetch_add(1, Relaxed);
            return json(
                StatusCode::SERVICE_UNAVAILABLE,
                Bytes::from_static(br#"{"error":"notification queue unavailable"}"#),
            );
        }
        let n = self.accepted.fetch_add(1, Relaxed);
        let backlog_ms = self
            .outage()
            .map_or(0.0, |o| o.depth(now) / o.drain * 1000.0);
        let latency =
            50 + (n % 40) * 5 + backlog_ms as u64 + self.extra_queue_latency_ms.load(Relaxed);
        let body = format!(r#"{{"queued":true,"queue_latency_ms":{latency}}}"#);
        let mut resp = json(StatusCode::ACCEPTED, Bytes::from(body));
        resp.headers_mut()
            .insert("x-queue-latency-ms", HeaderValue::from(latency));
        resp
    }

    pub(crate) fn fill(&self, s: &mut TargetStats) {
        let now = Instant::now();
        let o = *self.outage();
        s.queue_depth = o.map_or(0, |o| o.depth(now).ceil() as u64);
        s.queue_drained_at_ms = o
            .filter(|o| now >= o.started + o.length)
            .map(|o| o.drained_after().as_millis() as u64);
        s.notifications_accepted = self.accepted.load(Relaxed);
        s.notifications_rejected = self.rejected.load(Relaxed);
        s.failover_5xx_served = self.failover_served.load(Relaxed);
        s.worker_restarts = self.restarts.load(Relaxed);
    }

    /// `GET /metrics` in the Prometheus text format (0.0.4).
    pub(crate) fn metrics(&self, requests_total: u64, extra: &str) -> Resp {
        let depth = self
            .outage()
            .map_or(0.0, |o| o.depth(Instant::now()).ceil());
        let body = format!(
            "# HELP demo_memory_ratio Working set over the container memory limit.\n\
             # TYPE demo_memory_ratio gauge\ndemo_memory_ratio {}\n\
             # HELP demo_queue_depth Jobs waiting in the notification queue.\n\
             # TYPE demo_queue_depth gauge\ndemo_queue_depth {depth}\n\
             # HELP demo_requests_total Requests served by the target.\n\
             # TYPE demo_requests_total counter\ndemo_requests_total {requests_total}\n\
             # HELP demo_worker_restarts_total Queue worker (supervisor) restarts.\n\
             # TYPE demo_worker_restarts_total counter\ndemo_worker_restarts_total {}\n{extra}",
            f(&self.memory_ratio),
            self.restarts.load(Relaxed)
        );
        let mut resp = json(StatusCode::OK, Bytes::from(body));
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        );
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outage_backlog_drains_at_the_fixed_rate() {
        let o = Outage {
            started: Instant::now(),
            length: Duration::from_millis(2000),
            rejected: 100,
            inflow: 500.0,
            drain: 1000.0,
        };
        assert_eq!(o.peak(), 1100.0);
        assert_eq!(o.drained_after(), Duration::from_millis(3100));
        assert_eq!(o.depth(o.started + Duration::from_millis(2600)), 500.0);
        assert_eq!(o.depth(o.started + Duration::from_secs(4)), 0.0);
    }

    #[test]
    fn ending_an_outage_that_already_ended_keeps_its_record() {
        let s = Sut::default();
        let ctl = |j: &str| s.take_controls(serde_json::from_str(j).unwrap()).unwrap();
        ctl(r#"{"queue_outage_ms":1}"#);
        std::thread::sleep(Duration::from_millis(5));
        let before = s.outage().map(|o| o.length);
        ctl(r#"{"queue_outage_ms":0}"#);
        assert_eq!(
            s.outage().map(|o| o.length),
            before,
            "the undo came late: a no-op"
        );
        ctl(r#"{"worker_restarts":2}"#);
        assert_eq!(s.restarts.load(Relaxed), 2);
    }

    #[test]
    fn failover_answers_exactly_n_requests() {
        let s = Sut::default();
        let rest = s
            .take_controls(serde_json::from_str(r#"{"failover_5xx":2,"error_rate":0.1}"#).unwrap())
            .unwrap();
        assert!(rest.contains_key("error_rate"));
        assert!(s.failover().is_some() && s.failover().is_some());
        assert!(s.failover().is_none());
        assert!(
            s.take_controls(serde_json::from_str(r#"{"memory_ratio":-1}"#).unwrap())
                .is_err()
        );
    }
}
