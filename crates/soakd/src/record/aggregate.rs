//! One owner for a run's numbers: samples are queued by the VUs and applied in batches.
//!
//! A VU's sample is one [`Event`] pushed onto its slot's queue (a short lock that only the
//! aggregator's swap ever meets). Whoever drains (the run's flush ticker every
//! [`FLUSH_EVERY`], a snapshot, the timeline roll, or a VU whose queue reached [`QUEUE_CAP`])
//! holds the aggregate lock, swaps each queue for an empty buffer and applies the events in
//! order: the exact histograms, the counts, the live counters and the Prometheus sink are
//! touched by one thread at a time, per batch, never by many workers per sample. Memory stays
//! bounded: a queue never holds more than [`QUEUE_CAP`] events.

use super::{Hist, Live, Shard, StatusCell, micros};
use crate::client::{FailureReason, TraceId};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// How often a running run's queues are applied (the lag of /metrics and of the live counters).
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// A queue this long is applied by the VU that fills it (no ticker, or a stalled one).
pub(super) const QUEUE_CAP: usize = 2048;

/// Checks whose results travel as bits in a [`Sample`]; a request with more is applied at once.
pub(super) const MAX_BIT_CHECKS: usize = 64;

/// Whether a request outcome counts in `http_req_failed` (the one place of k6's rule): a
/// failed check alone does not fail the request, any other reason does.
pub fn counts_as_failed(failure: Option<FailureReason>) -> bool {
    failure.is_some_and(|f| f != FailureReason::Check)
}

/// The reasons a request outcome is counted under (the one place of that rule, for the run's
/// numbers and for Prometheus): its own reason, and `check` as well when a check failed and its
/// own reason is another.
pub fn counted_reasons(
    failure: Option<FailureReason>,
    checks_passed: bool,
) -> impl Iterator<Item = FailureReason> {
    let check =
        (!checks_passed && failure != Some(FailureReason::Check)).then_some(FailureReason::Check);
    failure.into_iter().chain(check)
}

/// One finished request, as the VU hands it over.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Index in the scenario's requests.
    pub request: u32,
    /// 0 = no response (transport failure).
    pub status: u16,
    pub failure: Option<FailureReason>,
    /// From the intended start (open models) or the send (closed models).
    pub latency: Duration,
    /// Check `i` passed when bit `i` is set; `checks` results in all.
    pub passed: u64,
    pub checks: u8,
    /// The trace id of the `traceparent` it was sent with.
    pub trace: Option<TraceId>,
}

impl Sample {
    /// None when the request has more checks than a sample carries as bits.
    pub fn new(
        request: usize,
        status: Option<u16>,
        latency: Duration,
        failure: Option<FailureReason>,
        checks: &[bool],
        trace: Option<TraceId>,
    ) -> Option<Sample> {
        if checks.len() > MAX_BIT_CHECKS {
            return None;
        }
        let passed = checks
            .iter()
            .enumerate()
            .fold(0u64, |bits, (i, ok)| bits | ((*ok as u64) << i));
        Some(Sample {
            request: request as u32,
            status: status.unwrap_or(0),
            failure,
            latency,
            passed,
            checks: checks.len() as u8,
            trace,
        })
    }

    /// None when no response arrived.
    pub fn status(&self) -> Option<u16> {
        (self.status != 0).then_some(self.status)
    }

    /// Whether check `i` passed (false past the last check).
    pub fn check_passed(&self, i: usize) -> bool {
        i < usize::from(self.checks) && self.passed & (1 << i) != 0
    }

    /// Whether every check passed (true without checks).
    pub fn checks_passed(&self) -> bool {
        let mask = u64::MAX >> (64 - u32::from(self.checks)).min(63);
        self.checks == 0 || self.passed & mask == mask
    }

    /// The check results in check order: the first `.1` entries of `.0`.
    pub fn check_results(&self) -> ([bool; MAX_BIT_CHECKS], usize) {
        let mut out = [false; MAX_BIT_CHECKS];
        for (i, slot) in out.iter_mut().enumerate().take(self.checks as usize) {
            *slot = self.passed & (1 << i) != 0;
        }
        (out, self.checks as usize)
    }
}

/// One finished iteration, as the VU hands it over.
#[derive(Clone, Copy, Debug)]
pub struct Iteration {
    /// Index in the scenario's mix entries.
    pub journey: u32,
    pub duration: Duration,
    /// How late it started against its intended start.
    pub lag: Duration,
    /// Every request of the journey succeeded and passed its checks.
    pub ok: bool,
}

/// What a VU queues.
#[derive(Clone, Copy, Debug)]
pub(super) enum Event {
    Request(Sample),
    Iteration(Iteration),
}

/// A VU slot's queue, on a cache line of its own so slots do not share one.
#[repr(align(128))]
#[derive(Default)]
pub(super) struct Queue(Mutex<Vec<Event>>);

/// The run's numbers and the buffer that queues are swapped with.
pub(super) struct Aggregate {
    /// None once the run's final snapshot took them (`Recorder::final_snapshot`).
    pub shard: Option<Shard>,
    /// Latencies of the current timeline window (taken by `roll_window`): only the timeline
    /// reads it, so it is not part of the numbers snapshots copy.
    pub window: Hist,
    spare: Vec<Event>,
    /// The batch's samples for the sink, which takes them in one call each (reused buffers).
    to_sink: (Vec<Sample>, Vec<Iteration>),
}

impl Aggregate {
    pub(super) fn new(shard: Shard) -> Self {
        Aggregate {
            shard: Some(shard),
            window: Hist::new(),
            spare: Vec::new(),
            to_sink: Default::default(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl super::Recorder {
    /// Queues one event on `vu`'s slot; applies the queues when this one is full.
    pub(super) fn push(&self, vu: u32, ev: Event) {
        let full = {
            let mut q = lock(&self.queues[vu as usize % self.queues.len()].0);
            q.push(ev);
            q.len() >= QUEUE_CAP
        };
        if full {
            drop(self.drain());
        }
    }

    /// Applies every queued event; the returned guard holds the up-to-date numbers.
    pub(super) fn drain(&self) -> MutexGuard<'_, Aggregate> {
        let mut agg = lock(&self.agg);
        let Aggregate {
            shard,
            window,
            spare,
            to_sink,
        } = &mut *agg;
        for q in self.queues.iter() {
            let mut batch = {
                let mut q = lock(&q.0);
                if q.is_empty() {
                    continue;
                }
                std::mem::replace(&mut *q, std::mem::take(spare))
            };
            // After the final snapshot nothing records (every VU has ended), so nothing is lost.
            if let Some(shard) = shard.as_mut() {
                self.apply(shard, window, &batch, to_sink);
            }
            batch.clear();
            *spare = batch;
        }
        agg
    }

    /// Applies the queued events now (the run's flush ticker calls this every [`FLUSH_EVERY`]).
    pub fn flush(&self) {
        drop(self.drain());
    }

    fn apply(
        &self,
        shard: &mut Shard,
        window: &mut Hist,
        batch: &[Event],
        to_sink: &mut (Vec<Sample>, Vec<Iteration>),
    ) {
        let (mut requests, mut failures, mut iterations) = (0u64, 0u64, 0u64);
        let (sink_requests, sink_iterations) = to_sink;
        // Equal lags in a row (every closed-model iteration's is 0) are recorded as one count.
        let mut lag_run = (0u64, 0u64);
        for ev in batch {
            match *ev {
                Event::Request(s) => {
                    requests += 1;
                    failures += counts_as_failed(s.failure) as u64;
                    let (results, n) = s.check_results();
                    apply_request(shard, window, &s, &results[..n]);
                    sink_requests.push(s);
                }
                Event::Iteration(it) => {
                    iterations += 1;
                    if let Some(j) = shard.journeys.get_mut(it.journey as usize) {
                        j[!it.ok as usize] += 1;
                    }
                    shard.iteration.record(micros(it.duration));
                    let lag = micros(it.lag);
                    if lag != lag_run.0 {
                        shard.lag.record_n(lag_run.0, lag_run.1);
                        lag_run = (lag, 0);
                    }
                    lag_run.1 += 1;
                    sink_iterations.push(it);
                }
            }
        }
        shard.lag.record_n(lag_run.0, lag_run.1);
        if let Some(sink) = &self.sink {
            sink.requests(sink_requests);
            sink.iterations(&self.journeys, sink_iterations);
        }
        sink_requests.clear();
        sink_iterations.clear();
        let live: &Live = &self.live;
        live.requests.fetch_add(requests, Ordering::Relaxed);
        live.failures.fetch_add(failures, Ordering::Relaxed);
        live.iterations.fetch_add(iterations, Ordering::Relaxed);
    }
}

/// One request into the run's numbers and the timeline's window; `checks` are its results in
/// check order. The sink gets it separately, in its batch.
pub(super) fn apply_request(shard: &mut Shard, window: &mut Hist, s: &Sample, checks: &[bool]) {
    let failed = counts_as_failed(s.failure);
    let Some(cell) = shard.requests.get_mut(s.request as usize) else {
        return;
    };
    let sc = match cell.by_status.iter().position(|c| c.status == s.status) {
        Some(i) => &mut cell.by_status[i],
        None => {
            cell.by_status.push(StatusCell {
                status: s.status,
                latency: Hist::new(),
                count: 0,
                failed: 0,
            });
            cell.by_status.last_mut().expect("just pushed")
        }
    };
    sc.count += 1;
    sc.failed += failed as u64;
    sc.latency.record(micros(s.latency));
    window.record(micros(s.latency));
    for (slot, ok) in cell.checks.iter_mut().zip(checks) {
        slot[!*ok as usize] += 1;
    }
    for reason in counted_reasons(s.failure, checks.iter().all(|ok| *ok)) {
        cell.reasons[reason as usize] += 1;
    }
}
