//! The questions a run's numbers answer, defined here beside the snapshot that answers them.
//!
//! Verdicts, summaries and the breaker read a run only through [`RunNumbers`]; it lives in
//! `record` (on the left of its users, DESIGN §1's flow) so the recorder never imports the
//! judge, and `verdict` stays pure over any implementation, a fake included.

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::plan::threshold::TagFilter;

/// What a run's recorder can answer: the numbers thresholds, summaries and the breaker read.
/// Implemented by [`super::RunSnapshot`] (and by fakes in tests).
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
