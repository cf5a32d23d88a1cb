//! The run's time series: per window (1 s, longer for long runs) throughput, error ratio and
//! latency percentiles, for the HTML report's charts.
//!
//! The aggregate keeps a histogram of the current window; `roll_window` (called by one ticker
//! task per run) applies the queued samples, takes it (leaving an empty one) and appends one
//! compact point, so memory grows with the number of windows, never with the number of samples.

use super::Recorder;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::sync::atomic::Ordering;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Seconds since the run started, at the end of the window.
    pub t: f64,
    pub rps: f64,
    pub error_rate: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

#[derive(Default)]
pub(super) struct Timeline {
    points: Vec<Point>,
    last_t: f64,
    last_requests: u64,
    last_failures: u64,
}

impl Timeline {
    pub(super) fn new() -> Mutex<Timeline> {
        Mutex::new(Timeline::default())
    }
}

impl Recorder {
    /// Closes the current window and appends its point.
    pub fn roll_window(&self) {
        // Nothing records after the final snapshot, so the window is empty then.
        let merged = std::mem::take(&mut self.drain().window).to_u64();
        let t = self.started.elapsed().as_secs_f64();
        let requests = self.live.requests.load(Ordering::Relaxed);
        let failures = self.live.failures.load(Ordering::Relaxed);
        let mut tl = self.timeline.lock().unwrap_or_else(|p| p.into_inner());
        let dt = (t - tl.last_t).max(1e-9);
        let (dr, df) = (requests - tl.last_requests, failures - tl.last_failures);
        let ms = |q: f64| {
            if merged.is_empty() {
                0.0
            } else {
                merged.value_at_quantile(q) as f64 / 1000.0
            }
        };
        let point = Point {
            t,
            rps: dr as f64 / dt,
            error_rate: if dr == 0 { 0.0 } else { df as f64 / dr as f64 },
            p50_ms: ms(0.50),
            p95_ms: ms(0.95),
            p99_ms: ms(0.99),
        };
        tl.points.push(point);
        tl.last_t = t;
        tl.last_requests = requests;
        tl.last_failures = failures;
    }

    /// The points so far.
    pub fn timeline(&self) -> Vec<Point> {
        self.timeline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .points
            .clone()
    }
}
