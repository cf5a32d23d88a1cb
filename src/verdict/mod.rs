//! Verdicts: thresholds evaluated against one run's exact numbers.
//!
//! A run passes or fails on its own samples alone (DESIGN §4), read from the recorder's exact
//! per-run HdrHistograms and counters, never from Prometheus' bucketed families. This module is
//! pure: it sees the run only through [`RunNumbers`], so it is tested with a fake and knows
//! nothing about how the recorder queues or aggregates.

mod evaluate;
pub mod regression;

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::plan::threshold::TagFilter;

pub use evaluate::{evaluate, evaluate_all, should_abort};

/// What a run's recorder can answer; implemented by the recorder's merged run snapshot elsewhere.
pub trait RunNumbers {
    /// Merged latency histogram (values in MICROseconds) of requests matching `filter`
    /// (http_req_duration), None if no samples.
    fn request_latency(&self, filter: &TagFilter) -> Option<Histogram<u64>>;
    /// Merged iteration duration histogram (microseconds), None if none.
    fn iteration_latency(&self) -> Option<Histogram<u64>>;
    /// (requests, failed requests) matching `filter`.
    fn requests(&self, filter: &TagFilter) -> (u64, u64);
    /// (check passes, check fails) matching `filter` (tags of the request the check ran on).
    fn checks(&self, filter: &TagFilter) -> (u64, u64);
    fn iterations(&self) -> u64;
    fn dropped_iterations(&self) -> u64;
    /// (journeys that fully succeeded, journeys with a failed request or check) matching
    /// `filter` (only the journey tag applies).
    fn journeys(&self, _filter: &TagFilter) -> (u64, u64) {
        (0, 0)
    }
    /// WebSocket handshake and message round-trip histograms (µs), None if no samples.
    fn ws_connecting(&self) -> Option<Histogram<u64>> {
        None
    }
    fn ws_msg_latency(&self) -> Option<Histogram<u64>> {
        None
    }
    /// (sessions dropped, sessions ended).
    fn ws_sessions(&self) -> (u64, u64) {
        (0, 0)
    }
    fn ws_msgs_received(&self) -> u64 {
        0
    }
    /// (last, most) VUs sampled during the run (the `vus` and `vus_max` gauges), None before
    /// the first sample.
    fn vus(&self) -> Option<(u32, u32)> {
        None
    }
    /// Wall time of the run so far (for rates per second).
    fn elapsed(&self) -> Duration;
}

/// One threshold's verdict for one run: the row of the summary's `thresholds` list and the
/// source of the `soakd_threshold_*` gauges.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Outcome {
    /// The threshold's canonical label, `METRIC{TAGS}:EXPR`.
    pub threshold: String,
    /// The aggregated value (milliseconds for durations); None = no data.
    pub observed: Option<f64>,
    pub limit: f64,
    pub breached: bool,
}
