//! A merged, immutable view of a run's samples: what verdicts and summaries read.

use super::{RequestCell, RunNumbers, Shard, new_hist};
use crate::client::FailureReason;
use crate::plan::RequestMeta;
use crate::plan::threshold::{TagFilter, TagKey};
use hdrhistogram::Histogram;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub struct RunSnapshot {
    /// Per-window throughput, errors and percentiles (see `Recorder::roll_window`).
    pub timeline: Vec<super::Point>,
    /// The run's slowest and first failed requests (`notable.rs`).
    pub notable: super::NotableRequests,
    meta: Arc<[RequestMeta]>,
    journeys: Arc<[String]>,
    shard: Shard,
    pub iterations: u64,
    pub dropped: u64,
    /// Iterations cut at the hard stop (`metrics.interrupted_iterations`).
    pub interrupted: u64,
    /// Re-sends on a fresh connection (`metrics.retried_requests`).
    pub retries: u64,
    pub elapsed: Duration,
    /// (last, most) sampled VUs, None if never sampled.
    pub vus: Option<(u32, u32)>,
    /// `shard.lag` as the `Histogram<u64>` that `lag()` lends, made at its first call.
    lag: OnceLock<Histogram<u64>>,
}

impl RunSnapshot {
    pub(super) fn new(
        meta: Arc<[RequestMeta]>,
        journeys: Arc<[String]>,
        shard: Shard,
        iterations: u64,
        dropped: u64,
        elapsed: Duration,
    ) -> Self {
        RunSnapshot {
            timeline: Vec::new(),
            notable: Default::default(),
            meta,
            journeys,
            shard,
            iterations,
            dropped,
            interrupted: 0,
            retries: 0,
            elapsed,
            vus: None,
            lag: OnceLock::new(),
        }
    }

    /// A snapshot of the same run with other numbers and counters (see `since`).
    pub(super) fn from_parts(
        like: &RunSnapshot,
        shard: Shard,
        iterations: u64,
        dropped: u64,
        elapsed: Duration,
    ) -> Self {
        RunSnapshot::new(
            like.meta.clone(),
            like.journeys.clone(),
            shard,
            iterations,
            dropped,
            elapsed,
        )
    }

    pub(super) fn shard_clone(&self) -> Shard {
        self.shard.clone()
    }

    pub(super) fn shard_ref(&self) -> &Shard {
        &self.shard
    }

    /// Requests that got a response (any status), over all requests of the run.
    pub fn responses(&self) -> u64 {
        self.cells()
            .flat_map(|(_, c)| c.by_status.iter())
            .filter(|sc| sc.status != 0)
            .map(|sc| sc.count)
            .sum()
    }

    /// Failures of every request by reason, only reasons seen (`timeout: 3, interrupted: 17`).
    pub fn reasons_total(&self) -> Vec<(FailureReason, u64)> {
        FailureReason::ALL
            .iter()
            .map(|r| {
                let n = self.cells().map(|(_, c)| c.reasons[*r as usize]).sum();
                (*r, n)
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    pub fn meta(&self) -> &[RequestMeta] {
        &self.meta
    }

    fn matches(&self, i: usize, status: Option<u16>, f: &TagFilter) -> bool {
        let m = &self.meta[i];
        f.0.iter().all(|(k, v)| match k {
            TagKey::Request => &m.name == v,
            TagKey::Group => &m.group == v,
            TagKey::Method => m.method.eq_ignore_ascii_case(v),
            TagKey::Status => status.is_none_or(|s| s.to_string() == *v),
            TagKey::Journey => &m.journey == v,
            // A stage is a time slice of the run, applied by taking the snapshot difference
            // over the stage's bounds, never per sample.
            TagKey::Stage => true,
        })
    }

    fn cells(&self) -> impl Iterator<Item = (usize, &RequestCell)> {
        self.shard.requests.iter().enumerate()
    }

    /// Latency histogram of one request (all statuses), µs.
    pub fn request_histogram(&self, i: usize) -> Histogram<u64> {
        let mut h = new_hist();
        for sc in &self.shard.requests[i].by_status {
            sc.latency.add_to(&mut h);
        }
        h
    }

    /// (requests, failed) of one request.
    pub fn request_counts(&self, i: usize) -> (u64, u64) {
        self.shard.requests[i]
            .by_status
            .iter()
            .fold((0, 0), |(n, f), c| (n + c.count, f + c.failed))
    }

    /// [passes, fails] per check of one request.
    pub fn request_checks(&self, i: usize) -> &[[u64; 2]] {
        &self.shard.requests[i].checks
    }

    /// Failures of one request by reason.
    pub fn request_reasons(&self, i: usize) -> impl Iterator<Item = (FailureReason, u64)> + '_ {
        FailureReason::ALL
            .iter()
            .map(move |r| (*r, self.shard.requests[i].reasons[*r as usize]))
    }

    /// (name, [succeeded, failed]) of every journey.
    pub fn journey_counts(&self) -> impl Iterator<Item = (&str, [u64; 2])> + '_ {
        self.journeys
            .iter()
            .map(|n| n.as_str())
            .zip(self.shard.journeys.iter().copied())
    }

    pub fn ws(&self) -> &super::ws::WsCell {
        self.shard.ws_or_empty()
    }

    /// Generator lag (µs): how late iterations started against their intended start.
    pub fn lag(&self) -> &Histogram<u64> {
        self.lag.get_or_init(|| self.shard.lag.to_u64())
    }
}

impl RunNumbers for RunSnapshot {
    fn request_latency(&self, filter: &TagFilter) -> Option<Histogram<u64>> {
        let mut h = new_hist();
        for (i, cell) in self.cells() {
            for sc in &cell.by_status {
                if self.matches(i, Some(sc.status), filter) {
                    sc.latency.add_to(&mut h);
                }
            }
        }
        (!h.is_empty()).then_some(h)
    }

    fn iteration_latency(&self) -> Option<Histogram<u64>> {
        (!self.shard.iteration.is_empty()).then(|| self.shard.iteration.to_u64())
    }

    fn requests(&self, filter: &TagFilter) -> (u64, u64) {
        let mut n = (0, 0);
        for (i, cell) in self.cells() {
            for sc in &cell.by_status {
                if self.matches(i, Some(sc.status), filter) {
                    n.0 += sc.count;
                    n.1 += sc.failed;
                }
            }
        }
        n
    }

    fn checks(&self, filter: &TagFilter) -> (u64, u64) {
        let mut n = (0, 0);
        for (i, cell) in self.cells() {
            // Checks are counted per request, not per status: a status filter cannot narrow them.
            if self.matches(i, None, filter) {
                for c in &cell.checks {
                    n.0 += c[0];
                    n.1 += c[1];
                }
            }
        }
        n
    }

    fn iterations(&self) -> u64 {
        self.iterations
    }

    fn dropped_iterations(&self) -> u64 {
        self.dropped
    }

    fn journeys(&self, filter: &TagFilter) -> (u64, u64) {
        let wanted = filter.get(TagKey::Journey);
        self.journey_counts()
            .filter(|(name, _)| wanted.is_none_or(|w| w == *name))
            .fold((0, 0), |(a, b), (_, c)| (a + c[0], b + c[1]))
    }

    fn ws_connecting(&self) -> Option<Histogram<u64>> {
        let h = &self.shard.ws_or_empty().connecting;
        (!h.is_empty()).then(|| h.clone())
    }

    fn ws_msg_latency(&self) -> Option<Histogram<u64>> {
        let h = &self.shard.ws_or_empty().msg_latency;
        (!h.is_empty()).then(|| h.clone())
    }

    fn ws_sessions(&self) -> (u64, u64) {
        let ws = self.shard.ws_or_empty();
        (ws.dropped, ws.sessions)
    }

    fn ws_msgs_received(&self) -> u64 {
        self.shard.ws_or_empty().received
    }

    fn vus(&self) -> Option<(u32, u32)> {
        self.vus
    }

    fn elapsed(&self) -> Duration {
        self.elapsed
    }
}
