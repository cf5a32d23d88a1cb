//! Verdicts: thresholds evaluated against one run's exact numbers.
//!
//! A run passes or fails on its own samples alone (DESIGN §4), read from the recorder's exact
//! per-run HdrHistograms and counters, never from Prometheus' bucketed families. This module is
//! pure: it sees the run only through [`RunNumbers`], so it is tested with a fake and knows
//! nothing about how the recorder shards or merges.

mod evaluate;

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::plan::threshold::TagFilter;

pub use evaluate::{evaluate, evaluate_all, should_abort};

use crate::plan::threshold::{Aggregation, Metric, Threshold};

/// Whether a threshold's value grows with the traffic volume, so that replica I of N (which
/// runs a uniform 1/N of it) must judge it against limit/N: `count` of `http_reqs`,
/// `iterations`, `dropped_iterations`, `ws_msgs_received`, and `rate` (per second) of
/// `http_reqs` and `iterations`. Ratios, percentiles and durations do not scale.
pub fn scales_with_volume(t: &Threshold) -> bool {
    match t.aggregation {
        Aggregation::Count => matches!(
            t.metric,
            Metric::HttpReqs
                | Metric::Iterations
                | Metric::DroppedIterations
                | Metric::WsMsgsReceived
        ),
        Aggregation::Rate => matches!(t.metric, Metric::HttpReqs | Metric::Iterations),
        _ => false,
    }
}

/// The threshold as replica `index` of `count` judges it: volume limits divided by `count`
/// (`http_reqs: rate>=25` is `rate>=8.33` on each of 3 replicas), everything else as written.
/// The label stays the one written, so alerts and breach streaks are the same on every replica.
pub fn sharded(t: &Threshold, count: u32) -> Threshold {
    let mut t = t.clone();
    if count > 1 && scales_with_volume(&t) {
        t.limit /= count as f64;
    }
    t
}

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

#[cfg(test)]
mod shard_tests {
    use super::*;
    use crate::plan::threshold::parse;

    fn limit_on_replica(key: &str, expr: &str) -> f64 {
        sharded(&parse(key, expr).expect("valid threshold"), 4).limit
    }

    #[test]
    fn volume_limits_are_divided_by_the_replica_count() {
        assert_eq!(limit_on_replica("http_reqs", "rate>=100"), 25.0);
        assert_eq!(limit_on_replica("http_reqs", "count>=400"), 100.0);
        assert_eq!(limit_on_replica("iterations", "rate>=8"), 2.0);
        assert_eq!(limit_on_replica("iterations", "count>4"), 1.0);
        assert_eq!(limit_on_replica("dropped_iterations", "count<40"), 10.0);
        assert_eq!(limit_on_replica("ws_msgs_received", "count>=80"), 20.0);
    }

    #[test]
    fn ratios_percentiles_and_durations_are_judged_as_written() {
        assert_eq!(limit_on_replica("http_req_failed", "rate<0.01"), 0.01);
        assert_eq!(limit_on_replica("checks", "rate>=0.99"), 0.99);
        assert_eq!(limit_on_replica("http_req_duration", "p(95)<250"), 250.0);
        assert_eq!(limit_on_replica("iteration_duration", "avg<1000"), 1000.0);
    }

    #[test]
    fn one_replica_judges_everything_as_written() {
        let t = parse("http_reqs", "rate>=100").unwrap();
        assert_eq!(sharded(&t, 1).limit, 100.0);
        assert_eq!(
            sharded(&t, 4).label,
            t.label,
            "the label stays the one written"
        );
    }
}
