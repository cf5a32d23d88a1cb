//! The recorder: the only place samples go.
//!
//! Each run has one `Recorder`. A VU's sample is queued on its slot (see `aggregate.rs`) and
//! applied in batches to the run's one set of numbers, which a `RunSnapshot` copies for
//! progress, abort checks and the final verdict. Histograms are exact HdrHistograms in
//! microseconds with 3 significant figures, held in the form that costs least for what they
//! hold (`hist.rs`). A `Sink` (the Prometheus families, attached by the
//! daemon) sees every sample, in the batch it is applied with.

mod aggregate;
mod delta;
mod hist;
mod notable;
mod numbers;
mod snapshot;
mod timeline;
mod ws;

pub use aggregate::{FLUSH_EVERY, Iteration, Sample, counted_reasons, counts_as_failed};
pub use notable::{NotableRequest, NotableRequests};
pub use numbers::RunNumbers;
pub use snapshot::RunSnapshot;
pub use timeline::Point;
pub use ws::{WsCell, WsEvent};

use crate::client::FailureReason;
use crate::plan::RequestMeta;
use hdrhistogram::Histogram;
use hist::Hist;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Live view of samples, for telemetry outside the run (Prometheus).
pub trait Sink: Send + Sync {
    /// One finished request; `status` is None when no response arrived.
    fn request(
        &self,
        request: usize,
        status: Option<u16>,
        latency: Duration,
        failure: Option<FailureReason>,
        checks: &[bool],
    );
    /// [`Sink::request`] of a request sent with a `traceparent`: telemetry keeps its trace id
    /// as the exemplar of the latency bucket it lands in.
    fn request_traced(
        &self,
        request: usize,
        status: Option<u16>,
        latency: Duration,
        failure: Option<FailureReason>,
        checks: &[bool],
        _trace: Option<crate::client::TraceId>,
    ) {
        self.request(request, status, latency, failure, checks);
    }
    /// One finished iteration of mix entry `journey`; `ok` when every request of it succeeded.
    fn iteration(&self, journey: &str, lag: Duration, ok: bool);
    /// The finished requests of one applied batch, in order (see `aggregate.rs`): telemetry
    /// updates each series once per batch instead of once per sample. By default, one
    /// [`Sink::request_traced`] each.
    fn requests(&self, batch: &[Sample]) {
        for s in batch {
            let (results, n) = s.check_results();
            let (r, latency) = (s.request as usize, s.latency);
            self.request_traced(r, s.status(), latency, s.failure, &results[..n], s.trace);
        }
    }
    /// The finished iterations of one applied batch; `journeys` names the mix entries by
    /// index. By default, one [`Sink::iteration`] each.
    fn iterations(&self, journeys: &[String], batch: &[Iteration]) {
        for it in batch {
            let name = journeys.get(it.journey as usize).map_or("", |j| j.as_str());
            self.iteration(name, it.lag, it.ok);
        }
    }
    fn dropped_iteration(&self);
    /// A re-send of request `request` on a fresh connection after a reused one failed under
    /// it; `reason` is `reset` (sent, no response byte) or `closed` (closed before sending).
    fn retry(&self, _request: usize, _reason: &'static str) {}
    /// One WebSocket event of session `request`.
    fn ws(&self, _request: usize, _event: WsEvent) {}
    /// The value of windowed threshold `threshold` over the window that just ended (None: no
    /// data in it) and whether that window breached, exported live while the run goes.
    fn window_judged(&self, _threshold: &str, _value: Option<f64>, _breached: bool) {}
}

/// Counters readable at any time without taking the aggregate's lock (progress line, breaker,
/// drills): updated per applied batch, so at most `FLUSH_EVERY` behind the samples.
#[derive(Default)]
pub struct Live {
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    pub iterations: AtomicU64,
    pub dropped: AtomicU64,
    /// Iterations cut at the hard stop (or by a ramp-down past its grace), not in `iterations`.
    pub interrupted: AtomicU64,
    /// Re-sends on a fresh connection (see `Sink::retry`).
    pub retries: AtomicU64,
    /// The `vus` gauge: samples taken, last and highest value (see `Recorder::sample_vus`).
    pub vus_samples: AtomicU64,
    pub vus_last: std::sync::atomic::AtomicU32,
    pub vus_max: std::sync::atomic::AtomicU32,
}

pub(crate) fn new_hist() -> Histogram<u64> {
    // Auto-resizing, so memory follows the largest latency actually seen.
    hist::new_dense()
}

fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).max(1)
}

/// Samples of one (request, status) pair.
#[derive(Clone)]
pub(crate) struct StatusCell {
    /// 0 = no response (transport failure).
    pub status: u16,
    pub latency: Hist,
    pub count: u64,
    pub failed: u64,
}

#[derive(Clone, Default)]
pub(crate) struct RequestCell {
    pub by_status: Vec<StatusCell>,
    /// [passes, fails] per check, in `RequestMeta::checks` order.
    pub checks: Vec<[u64; 2]>,
    pub reasons: [u64; FailureReason::ALL.len()],
}

/// A run's numbers: the one aggregate per run owns one (the name is from when each worker had
/// its own), and every snapshot holds a copy (the final one takes it, compacted).
#[derive(Clone)]
pub(crate) struct Shard {
    pub requests: Vec<RequestCell>,
    /// [fully succeeded, failed] per mix entry (journey).
    pub journeys: Vec<[u64; 2]>,
    /// Created by the first WebSocket event: most runs have none, and its two histograms are
    /// tens of KB per copy of the numbers.
    pub ws: Option<Box<ws::WsCell>>,
    pub iteration: Hist,
    pub lag: Hist,
}

impl Shard {
    fn new(meta: &[RequestMeta], journeys: usize) -> Self {
        Shard {
            journeys: vec![[0, 0]; journeys],
            ws: None,
            requests: meta
                .iter()
                .map(|m| RequestCell {
                    checks: vec![[0, 0]; m.checks.len()],
                    ..Default::default()
                })
                .collect(),
            iteration: Hist::new(),
            lag: Hist::new(),
        }
    }

    /// Its histograms in their smallest form, for a run that records no more.
    fn compact(&mut self) {
        let cells = self
            .requests
            .iter_mut()
            .flat_map(|c| c.by_status.iter_mut());
        for h in cells.map(|sc| &mut sc.latency) {
            h.compact();
        }
        self.iteration.compact();
        self.lag.compact();
    }
}

/// Enough queues that the runtime's workers rarely meet on one, and no more (a queue is a
/// buffer; the histograms exist once per run). A current-thread runtime never contends: one.
fn queue_count() -> usize {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::CurrentThread => 1,
        Ok(h) => h.metrics().num_workers() * 2,
        Err(_) => std::thread::available_parallelism().map_or(2, |n| n.get()) * 2,
    }
}

pub struct Recorder {
    started: Instant,
    meta: Arc<[RequestMeta]>,
    journeys: Arc<[String]>,
    /// VU samples waiting to be applied, by `vu % len` (see `aggregate.rs`).
    queues: Box<[aggregate::Queue]>,
    /// The run's numbers: one owner at a time, whoever drains the queues.
    agg: Mutex<aggregate::Aggregate>,
    timeline: Mutex<timeline::Timeline>,
    pub live: Live,
    sink: Option<Arc<dyn Sink>>,
    /// The slowest and first failed requests, with trace and request ids.
    notable: notable::Notable,
}

impl Recorder {
    /// `meta` lists the scenario's requests, `journeys` its mix entries, both by index.
    pub fn new(
        meta: Arc<[RequestMeta]>,
        journeys: Arc<[String]>,
        sink: Option<Arc<dyn Sink>>,
    ) -> Self {
        let shard = Shard::new(&meta, journeys.len());
        Recorder {
            started: Instant::now(),
            queues: (0..queue_count()).map(|_| Default::default()).collect(),
            agg: Mutex::new(aggregate::Aggregate::new(shard)),
            meta,
            journeys,
            timeline: timeline::Timeline::new(),
            live: Live::default(),
            sink,
            notable: Default::default(),
        }
    }

    /// Whether a request of `latency` (failed or not) would enter the summary's slowest or
    /// failed lists; callers build a [`NotableRequest`] for [`Recorder::note`] only then.
    pub fn notable_wants(&self, latency: Duration, failed: bool) -> bool {
        self.notable.wants(latency, failed)
    }

    /// Offers one request to the slowest / failed lists (see `notable.rs`).
    pub fn note(&self, entry: NotableRequest, latency: Duration, failed: bool) {
        self.notable.add(entry, latency, failed);
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// One request: its latency (from the intended start in open models), status or failure,
    /// and the results of its checks.
    pub fn request(
        &self,
        vu: u32,
        request: usize,
        status: Option<u16>,
        latency: Duration,
        failure: Option<FailureReason>,
        checks: &[bool],
    ) {
        self.request_traced(vu, request, status, latency, failure, checks, None);
    }

    /// [`Recorder::request`] of a request sent with a `traceparent` carrying `trace`.
    #[allow(clippy::too_many_arguments)] // request's arguments plus the trace id.
    pub fn request_traced(
        &self,
        vu: u32,
        request: usize,
        status: Option<u16>,
        latency: Duration,
        failure: Option<FailureReason>,
        checks: &[bool],
        trace: Option<crate::client::TraceId>,
    ) {
        match Sample::new(request, status, latency, failure, checks, trace) {
            Some(s) => self.push(vu, aggregate::Event::Request(s)),
            None => {
                // More checks than a sample carries as bits: applied at once, in order.
                let mut guard = self.drain();
                let agg = &mut *guard;
                let s = Sample::new(request, status, latency, failure, &[], trace)
                    .expect("no checks always fit");
                if let Some(shard) = agg.shard.as_mut() {
                    aggregate::apply_request(shard, &mut agg.window, &s, checks);
                    if let Some(sink) = &self.sink {
                        sink.request_traced(request, status, latency, failure, checks, trace);
                    }
                }
                self.live.requests.fetch_add(1, Ordering::Relaxed);
                let failed = counts_as_failed(failure) as u64;
                self.live.failures.fetch_add(failed, Ordering::Relaxed);
            }
        }
    }

    /// One finished iteration of mix entry `journey`; `lag` is how late it started against its
    /// intended start; `ok` when every request of the journey succeeded and passed its checks.
    pub fn iteration(&self, vu: u32, journey: usize, duration: Duration, lag: Duration, ok: bool) {
        let ev = aggregate::Event::Iteration(Iteration {
            journey: journey as u32,
            duration,
            lag,
            ok,
        });
        self.push(vu, ev);
    }

    /// An iteration the open model could not start because every VU was busy.
    pub fn dropped(&self) {
        self.live.dropped.fetch_add(1, Ordering::Relaxed);
        if let Some(s) = &self.sink {
            s.dropped_iteration();
        }
    }

    /// An iteration cut before its end (its in-flight request is recorded as `interrupted`).
    pub fn interrupted_iteration(&self) {
        self.live.interrupted.fetch_add(1, Ordering::Relaxed);
    }

    /// A re-send of `request` after its reused connection failed (counted, never hidden).
    pub fn retry(&self, request: usize, reason: &'static str) {
        self.live.retries.fetch_add(1, Ordering::Relaxed);
        if let Some(s) = &self.sink {
            s.retry(request, reason);
        }
    }

    /// Passes a windowed threshold's latest window to the live sink (see `Sink::window_judged`).
    pub fn window_judged(&self, threshold: &str, value: Option<f64>, breached: bool) {
        if let Some(s) = &self.sink {
            s.window_judged(threshold, value, breached);
        }
    }

    /// One sample of the active VUs (taken once a second, like k6's `vus` metric).
    pub fn sample_vus(&self, vus: u32) {
        self.live.vus_last.store(vus, Ordering::Relaxed);
        self.live.vus_max.fetch_max(vus, Ordering::Relaxed);
        self.live.vus_samples.fetch_add(1, Ordering::Relaxed);
    }

    /// Applies the queues and copies the numbers (cost grows with requests × statuses, not
    /// with samples).
    pub fn snapshot(&self) -> RunSnapshot {
        let shard = self.drain().shard.clone();
        self.snapshot_of(shard)
    }

    /// The run's last snapshot: like `snapshot`, but it takes the numbers instead of copying
    /// them, and compacts their histograms, so a finished run waiting for the ledger holds
    /// one small copy, not two full ones (1,000 runs ending together). Later snapshots are
    /// empty.
    pub fn final_snapshot(&self) -> RunSnapshot {
        let mut shard = self.drain().shard.take();
        if let Some(s) = shard.as_mut() {
            s.compact();
        }
        self.snapshot_of(shard)
    }

    fn snapshot_of(&self, shard: Option<Shard>) -> RunSnapshot {
        let merged = shard.unwrap_or_else(|| Shard::new(&self.meta, self.journeys.len()));
        let mut snap = RunSnapshot::new(
            self.meta.clone(),
            self.journeys.clone(),
            merged,
            self.live.iterations.load(Ordering::Relaxed),
            self.live.dropped.load(Ordering::Relaxed),
            self.started.elapsed(),
        );
        snap.interrupted = self.live.interrupted.load(Ordering::Relaxed);
        snap.retries = self.live.retries.load(Ordering::Relaxed);
        snap.timeline = self.timeline();
        snap.vus = (self.live.vus_samples.load(Ordering::Relaxed) > 0).then(|| {
            let l = &self.live;
            (
                l.vus_last.load(Ordering::Relaxed),
                l.vus_max.load(Ordering::Relaxed),
            )
        });
        snap.notable = self.notable.snapshot();
        snap
    }
}
