//! The recorder: the only place samples go.
//!
//! Each run has one `Recorder`. Samples land in one of a few shards (chosen by VU), each behind
//! its own mutex, so the hot path takes no global lock; shards are merged into a `RunSnapshot`
//! for progress, abort checks and the final verdict. Histograms are exact HdrHistograms in
//! microseconds with 3 significant figures. A `Sink` (the Prometheus families, attached by the
//! daemon) sees every sample as it happens.

mod delta;
mod notable;
mod snapshot;
mod timeline;
mod ws;

pub use notable::{NotableRequest, NotableRequests};
pub use snapshot::RunSnapshot;
pub use timeline::Point;
pub use ws::{WsCell, WsEvent};

use crate::client::FailureReason;
use crate::plan::RequestMeta;
use hdrhistogram::Histogram;
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

/// Counters readable at any time without merging shards (progress line).
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
    Histogram::new(3).expect("3 significant figures is a valid histogram")
}

fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).max(1)
}

/// Samples of one (request, status) pair.
#[derive(Clone)]
pub(crate) struct StatusCell {
    /// 0 = no response (transport failure).
    pub status: u16,
    pub latency: Histogram<u64>,
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

#[derive(Clone)]
pub(crate) struct Shard {
    pub requests: Vec<RequestCell>,
    /// [fully succeeded, failed] per mix entry (journey).
    pub journeys: Vec<[u64; 2]>,
    pub ws: ws::WsCell,
    pub iteration: Histogram<u64>,
    pub lag: Histogram<u64>,
    /// Latencies of the current timeline window (reset by `roll_window`).
    pub window: Histogram<u64>,
}

impl Shard {
    fn new(meta: &[RequestMeta], journeys: usize) -> Self {
        Shard {
            journeys: vec![[0, 0]; journeys],
            ws: ws::WsCell::default(),
            requests: meta
                .iter()
                .map(|m| RequestCell {
                    checks: vec![[0, 0]; m.checks.len()],
                    ..Default::default()
                })
                .collect(),
            iteration: new_hist(),
            lag: new_hist(),
            window: new_hist(),
        }
    }
}

/// Enough shards that the runtime's workers rarely meet on one lock, and no more: each shard
/// holds an exact histogram per request and status (tens of KB each), so 50 scenarios × 20
/// requests × 8 shards cost hundreds of MB. A current-thread runtime never contends: one shard.
fn shard_count() -> usize {
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
    shards: Box<[Mutex<Shard>]>,
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
        let n = shard_count();
        Recorder {
            started: Instant::now(),
            shards: (0..n)
                .map(|_| Mutex::new(Shard::new(&meta, journeys.len())))
                .collect(),
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

    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    fn shard(&self, vu: u32) -> std::sync::MutexGuard<'_, Shard> {
        let m = &self.shards[vu as usize % self.shards.len()];
        m.lock().unwrap_or_else(|p| p.into_inner())
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
        let failed = failure.is_some_and(|f| f != FailureReason::Check);
        self.live.requests.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.live.failures.fetch_add(1, Ordering::Relaxed);
        }
        {
            let mut shard = self.shard(vu);
            let shard = &mut *shard;
            let window = &mut shard.window;
            let cell = &mut shard.requests[request];
            let code = status.unwrap_or(0);
            let sc = match cell.by_status.iter().position(|c| c.status == code) {
                Some(i) => &mut cell.by_status[i],
                None => {
                    cell.by_status.push(StatusCell {
                        status: code,
                        latency: new_hist(),
                        count: 0,
                        failed: 0,
                    });
                    cell.by_status.last_mut().expect("just pushed")
                }
            };
            sc.count += 1;
            sc.failed += failed as u64;
            let _ = sc.latency.record(micros(latency));
            let _ = window.record(micros(latency));
            for (slot, ok) in cell.checks.iter_mut().zip(checks) {
                slot[!*ok as usize] += 1;
            }
            if let Some(f) = failure {
                cell.reasons[f as usize] += 1;
            }
            if checks.iter().any(|ok| !ok) && failure != Some(FailureReason::Check) {
                cell.reasons[FailureReason::Check as usize] += 1;
            }
        }
        if let Some(s) = &self.sink {
            s.request_traced(request, status, latency, failure, checks, trace);
        }
    }

    /// One finished iteration of mix entry `journey`; `lag` is how late it started against its
    /// intended start; `ok` when every request of the journey succeeded and passed its checks.
    pub fn iteration(&self, vu: u32, journey: usize, duration: Duration, lag: Duration, ok: bool) {
        self.live.iterations.fetch_add(1, Ordering::Relaxed);
        {
            let mut shard = self.shard(vu);
            if let Some(j) = shard.journeys.get_mut(journey) {
                j[!ok as usize] += 1;
            }
            let _ = shard.iteration.record(micros(duration));
            let _ = shard.lag.record(micros(lag));
        }
        if let Some(s) = &self.sink {
            let name = self.journeys.get(journey).map_or("", |j| j.as_str());
            s.iteration(name, lag, ok);
        }
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

    /// Merges all shards (cost grows with requests × statuses, not with samples).
    pub fn snapshot(&self) -> RunSnapshot {
        let mut merged = Shard::new(&self.meta, self.journeys.len());
        for m in self.shards.iter() {
            let shard = m.lock().unwrap_or_else(|p| p.into_inner());
            merged.merge(&shard);
        }
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

impl Shard {
    fn merge(&mut self, other: &Shard) {
        for (a, b) in self.requests.iter_mut().zip(&other.requests) {
            for sc in &b.by_status {
                match a.by_status.iter_mut().find(|c| c.status == sc.status) {
                    Some(c) => {
                        c.count += sc.count;
                        c.failed += sc.failed;
                        let _ = c.latency.add(&sc.latency);
                    }
                    None => a.by_status.push(sc.clone()),
                }
            }
            for (x, y) in a.checks.iter_mut().zip(&b.checks) {
                x[0] += y[0];
                x[1] += y[1];
            }
            for (x, y) in a.reasons.iter_mut().zip(&b.reasons) {
                *x += y;
            }
        }
        for (a, b) in self.journeys.iter_mut().zip(&other.journeys) {
            a[0] += b[0];
            a[1] += b[1];
        }
        self.ws.merge(&other.ws);
        let _ = self.iteration.add(&other.iteration);
        let _ = self.lag.add(&other.lag);
    }
}
