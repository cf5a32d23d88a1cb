//! The requests behind a verdict (issue 15): the run's N slowest and first N failed requests,
//! each with its status, failure reason, latency, trace id (the `traceparent` it was sent with)
//! and the target's request id (a configured response header, `X-Request-Id` by default), so a
//! breached p95 leads to concrete requests in the target's logs and traces.
//!
//! Kept off the aggregate's lock: an atomic latency floor and failure count let almost every sample
//! pass without taking this module's lock once the lists are full.

use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

/// Entries kept in each list.
pub const KEEP: usize = 10;

/// One request of the summary's `notable_requests` lists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotableRequest {
    pub request: String,
    /// 0 when no response arrived.
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub latency_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// `slowest` (slowest first) and `failed` (in the order they failed).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NotableRequests {
    pub slowest: Vec<NotableRequest>,
    pub failed: Vec<NotableRequest>,
}

impl NotableRequests {
    pub fn is_empty(&self) -> bool {
        self.slowest.is_empty() && self.failed.is_empty()
    }
}

#[derive(Debug, Default)]
pub struct Notable {
    /// µs a request must exceed to enter a full `slowest` list.
    floor_us: AtomicU64,
    failed: AtomicUsize,
    lists: Mutex<NotableRequests>,
}

impl Notable {
    /// Whether a request with this latency and outcome would enter a list (cheap, lock-free).
    pub fn wants(&self, latency: Duration, failed: bool) -> bool {
        (failed && self.failed.load(Relaxed) < KEEP)
            || latency.as_micros() as u64 > self.floor_us.load(Relaxed)
    }

    pub fn add(&self, entry: NotableRequest, latency: Duration, failed: bool) {
        let mut l = self.lists.lock().unwrap_or_else(|p| p.into_inner());
        if failed && l.failed.len() < KEEP {
            l.failed.push(entry.clone());
            self.failed.store(l.failed.len(), Relaxed);
        }
        let us = latency.as_micros() as u64;
        if us > self.floor_us.load(Relaxed) {
            let at = l
                .slowest
                .partition_point(|e| e.latency_ms >= entry.latency_ms);
            l.slowest.insert(at, entry);
            l.slowest.truncate(KEEP);
            if l.slowest.len() == KEEP
                && let Some(last) = l.slowest.last()
            {
                self.floor_us
                    .store((last.latency_ms * 1000.0) as u64, Relaxed);
            }
        }
    }

    pub fn snapshot(&self) -> NotableRequests {
        self.lists.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ms: u64) -> NotableRequest {
        NotableRequest {
            request: "r".into(),
            status: 200,
            reason: None,
            latency_ms: ms as f64,
            trace_id: None,
            request_id: Some(format!("id-{ms}")),
        }
    }

    #[test]
    fn keeps_the_slowest_ten_slowest_first_and_the_first_ten_failures() {
        let n = Notable::default();
        for ms in (1..=50).map(|i| (i * 37) % 101) {
            let d = Duration::from_millis(ms);
            let failed = ms % 2 == 0;
            if n.wants(d, failed) {
                n.add(entry(ms), d, failed);
            }
        }
        let s = n.snapshot();
        let slow: Vec<f64> = s.slowest.iter().map(|e| e.latency_ms).collect();
        let mut all: Vec<u64> = (1..=50).map(|i| (i * 37) % 101).collect();
        all.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(
            slow,
            all[..KEEP].iter().map(|m| *m as f64).collect::<Vec<_>>()
        );
        let failed: Vec<u64> = (1..=50u64)
            .map(|i| (i * 37) % 101)
            .filter(|ms| ms % 2 == 0)
            .take(KEEP)
            .collect();
        assert_eq!(
            s.failed
                .iter()
                .map(|e| e.latency_ms as u64)
                .collect::<Vec<_>>(),
            failed
        );
    }
}
