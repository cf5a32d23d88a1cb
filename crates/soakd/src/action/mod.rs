//! Actions: one iteration of a scenario — pick a mix entry, run its steps, record each request.
//!
//! Everything static about a request (URL, headers, body) is prepared once per run, so a
//! request without templates costs a few clones of shared bytes. Latency of the first request
//! of an open-model iteration is measured from the iteration's intended start. A journey's
//! steps share `var.X` values taken from earlier responses (`extract`); a step with `paginate`
//! follows cursors; every request of the journey must succeed for the journey to count as ok.

mod checks;
mod data;
mod extract;
mod guards;
mod limiter;
mod prepare;
mod request;
pub mod ws;

pub use limiter::Limiter;

use crate::client::{FailureReason, HttpClient, Response};
use crate::plan::{RequestStep, Scenario, Step};
use crate::record::Recorder;
use data::Picker;
use guards::Cut;
use minijinja::Value;
use prepare::Prepared;
use rand::rngs::SmallRng;
use rand::{Rng, RngCore, SeedableRng};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A virtual user's own state, carried between its iterations.
pub struct Vu {
    pub id: u32,
    pub iteration: u64,
    /// Values extracted earlier in the journey (`var.X`); cleared at each iteration.
    pub vars: BTreeMap<String, String>,
    rng: SmallRng,
    /// This VU's own connection to a plain-HTTP target.
    conn: crate::client::Sticky,
}

impl Vu {
    pub fn new(id: u32) -> Self {
        Vu {
            id,
            iteration: 0,
            vars: BTreeMap::new(),
            rng: SmallRng::from_rng(&mut rand::rng()),
            conn: Default::default(),
        }
    }
}

/// Runs iterations of one scenario against its target.
pub struct Actor {
    scenario: Arc<Scenario>,
    client: HttpClient,
    recorder: Arc<Recorder>,
    prepared: Vec<Prepared>,
    picker: Picker,
    /// Cancelled when a `unique` data pool runs out: the run ends normally.
    exhausted: CancellationToken,
    host_warned: std::sync::atomic::AtomicBool,
    /// Requests whose render error was logged already (once each per run).
    template_warned: std::sync::Mutex<std::collections::BTreeSet<usize>>,
    /// `safety.max_rps`: every request waits for a slot.
    limiter: Option<Arc<Limiter>>,
    /// Some step renders templates: iterations read the clock for `ts`.
    templated: bool,
    /// Mix entries drawn so far in this run (see `pick`).
    draws: std::sync::atomic::AtomicU64,
}

/// Per-iteration template context, built on first use and rebuilt after an extraction.
struct Ctx {
    data: Value,
    ts: i64,
    value: Option<Value>,
}

impl Actor {
    pub fn new(
        scenario: Arc<Scenario>,
        client: HttpClient,
        recorder: Arc<Recorder>,
        exhausted: CancellationToken,
    ) -> Self {
        let prepared = prepare::prepare_all(&scenario, &client);
        let templated = prepared.iter().any(Prepared::needs_context)
            || scenario
                .mix
                .iter()
                .any(|e| e.steps.iter().any(|s| matches!(s, Step::WebSocket(_))));
        // Only pools this scenario's templates read take rows: a `unique` pool declared for
        // another scenario must not bound (or end) this one.
        let pools: Arc<[crate::plan::data::Pool]> = match scenario.templates.data_pools_read() {
            None => scenario.pools.clone(),
            Some(read) => scenario
                .pools
                .iter()
                .filter(|p| read.contains(&p.name))
                .cloned()
                .collect(),
        };
        let picker = Picker::new(pools);
        Actor {
            scenario,
            client,
            recorder,
            prepared,
            picker,
            exhausted,
            host_warned: Default::default(),
            template_warned: Default::default(),
            limiter: None,
            templated,
            draws: Default::default(),
        }
    }

    pub fn with_limiter(mut self, limiter: Option<Arc<Limiter>>) -> Self {
        self.limiter = limiter;
        self
    }

    pub fn recorder(&self) -> &Arc<Recorder> {
        &self.recorder
    }

    /// One iteration. `intended` is the open model's intended start (None in closed models).
    pub async fn iteration(&self, vu: &mut Vu, intended: Option<Instant>) {
        let began = Instant::now();
        let start = intended.unwrap_or(began);
        let lag = intended.map_or(Duration::ZERO, |at| began.saturating_duration_since(at));
        let data = if self.picker.is_empty() {
            Value::from(())
        } else {
            match self.picker.select(vu.id, &mut vu.rng) {
                Ok(d) => d,
                Err(data::Exhausted(pool)) => {
                    if !self.exhausted.is_cancelled() {
                        tracing::info!(scenario = %self.scenario.name, pool, "unique data pool used up: ending the run");
                        self.exhausted.cancel();
                    }
                    return;
                }
            }
        };
        if !vu.vars.is_empty() {
            vu.vars.clear();
        }
        let mut ctx = Ctx {
            data,
            ts: if self.templated {
                chrono::Utc::now().timestamp()
            } else {
                0
            },
            value: None,
        };
        let entry = self.pick(vu);
        // Dropped mid-way (the hard stop): counted as an interrupted iteration.
        let mut cut = Cut {
            recorder: &self.recorder,
            armed: true,
        };
        let mut first_start = Some(start);
        // When the last step's request ended: the iteration's end, without another clock read.
        let mut last_end = None;
        let mut ok = true;
        for step in &self.scenario.mix[entry].steps {
            match step {
                Step::Think { min, max } => {
                    let d = if max > min {
                        vu.rng.random_range(*min..=*max)
                    } else {
                        *min
                    };
                    tokio::time::sleep(d).await;
                    last_end = None;
                }
                Step::Request(r) => {
                    // Latency from `from`, the timeout from `sent` (the first request of an
                    // open-model iteration is late by the generator's lag, not sent earlier).
                    let at = match first_start.take() {
                        Some(from) => (from, began),
                        None => {
                            let now = Instant::now();
                            (now, now)
                        }
                    };
                    let (step_ok, end) =
                        self.request(vu, r, &mut ctx, at, intended.is_some()).await;
                    ok &= step_ok;
                    last_end = Some(end);
                }
                Step::WebSocket(w) => {
                    first_start = None;
                    last_end = None;
                    let value = self.context(vu, &mut ctx).clone();
                    // Boxed: a session's state machine is ~12 KB, and inline it would sit in
                    // every VU's task whether or not the scenario uses WebSocket.
                    let allowed = ws::Allowed {
                        hosts: &self.scenario.allowed_hosts,
                        warned: &self.host_warned,
                        scenario: &self.scenario.name,
                    };
                    ok &= Box::pin(ws::session(
                        w,
                        &self.scenario.templates,
                        &value,
                        &self.recorder,
                        vu.id,
                        &allowed,
                    ))
                    .await;
                }
            }
        }
        cut.armed = false;
        let took = last_end
            .unwrap_or_else(Instant::now)
            .saturating_duration_since(start);
        self.recorder.iteration(vu.id, entry, took, lag, ok);
        vu.iteration += 1;
    }

    fn context<'c>(&self, vu: &Vu, ctx: &'c mut Ctx) -> &'c Value {
        ctx.value.get_or_insert_with(|| {
            self.scenario.templates.context_with(
                // `vu` counts from 1 like k6's `__VU`; the id stays an index from 0.
                vu.id + 1,
                vu.iteration,
                &vu.vars,
                ctx.data.clone(),
                ctx.ts,
            )
        })
    }

    /// The mix entry of the next iteration. Draws follow the golden-ratio sequence
    /// `frac((n + ½)·φ⁻¹)` over all of the run's iterations rather than independent random
    /// numbers: it is equidistributed with discrepancy O(log n / n), so after n iterations each
    /// entry's share is within a few iterations of its weight (a 5 % entry gets its 5 % in a
    /// short `--time-scale` run too), while consecutive iterations still interleave the entries.
    fn pick(&self, _vu: &mut Vu) -> usize {
        let w = &self.scenario.cumulative_weights;
        if w.len() <= 1 {
            return 0;
        }
        let n = self
            .draws
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let x = mix_point(n);
        w.iter().position(|c| x < *c).unwrap_or(w.len() - 1)
    }

    /// A (trace id, span id) for the next request, or None: `defaults.trace` sampling.
    fn trace(&self, vu: &mut Vu) -> Option<(crate::client::TraceId, [u8; 8])> {
        let sample = self.scenario.trace_sample;
        if sample <= 0.0 || (sample < 1.0 && vu.rng.random::<f64>() >= sample) {
            return None;
        }
        // Three word draws, not 24 byte draws (`random::<[u8; N]>` samples each element).
        let (hi, lo, span) = (vu.rng.next_u64(), vu.rng.next_u64(), vu.rng.next_u64());
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&hi.to_be_bytes());
        // All-zero ids are invalid (W3C trace context): the last bit is always set.
        id[8..].copy_from_slice(&(lo | 1).to_be_bytes());
        Some((crate::client::TraceId(id), (span | 1).to_be_bytes()))
    }

    /// Offers a request to the summary's slowest / failed lists.
    fn note(
        &self,
        r: &RequestStep,
        status: Option<u16>,
        failure: Option<FailureReason>,
        latency: Duration,
        trace: Option<crate::client::TraceId>,
        request_id: Option<&str>,
    ) {
        let failed = failure.is_some();
        let entry = crate::record::NotableRequest {
            request: self.scenario.requests[r.index].name.clone(),
            status: status.unwrap_or(0),
            reason: failure.map(|f| f.as_str().to_owned()),
            latency_ms: latency.as_secs_f64() * 1e3,
            trace_id: trace.map(|t| t.hex()),
            // Bounded: a hostile target cannot grow the summary through this header.
            request_id: request_id.map(|v| v.chars().take(128).collect()),
        };
        self.recorder.note(entry, latency, failed);
    }

    /// Records one response or failure; `(latency, trace)`: the trace id it was sent with.
    fn record(
        &self,
        vu: u32,
        r: &RequestStep,
        outcome: &Result<Response, FailureReason>,
        (latency, trace): (Duration, Option<crate::client::TraceId>),
        ok: &mut bool,
    ) {
        match outcome {
            Ok(resp) => {
                let results = checks::run(&r.checks, resp, latency);
                // k6's default: a response is failed unless its status is 2xx or 3xx.
                let failure = if resp.status >= 400 {
                    Some(FailureReason::Status)
                } else if results.iter().any(|ok| !ok) {
                    Some(FailureReason::Check)
                } else {
                    None
                };
                *ok &= failure.is_none();
                if self.recorder.notable_wants(latency, failure.is_some()) {
                    let id = resp.headers.get(&self.scenario.request_id_header);
                    self.note(r, Some(resp.status), failure, latency, trace, id);
                }
                self.recorder.request_traced(
                    vu,
                    r.index,
                    Some(resp.status),
                    latency,
                    failure,
                    &results,
                    trace,
                );
            }
            Err(reason) => {
                *ok = false;
                // Checks of a request that got no response all fail.
                let results = vec![false; r.checks.len()];
                if self.recorder.notable_wants(latency, true) {
                    self.note(r, None, Some(*reason), latency, trace, None);
                }
                self.recorder.request_traced(
                    vu,
                    r.index,
                    None,
                    latency,
                    Some(*reason),
                    &results,
                    trace,
                );
            }
        }
    }
}
/// The n-th point of the golden-ratio sequence in [0, 1) (see `Actor::pick`).
fn mix_point(n: u64) -> f64 {
    const INV_PHI: f64 = 0.618_033_988_749_894_9;
    ((n as f64 + 0.5) * INV_PHI).fract()
}

#[cfg(test)]
mod footprint {
    use super::*;

    /// The size of the future a closure returns, without running it.
    fn future_size<Fut, C: FnOnce(&'static Actor, &'static mut Vu) -> Fut>(_: C) -> usize {
        std::mem::size_of::<Fut>()
    }

    /// Every VU's task holds one iteration future for its whole life: at 10,000 VUs each KB
    /// is 10 MB. Rare, large state (a WebSocket session, a reconnect, the pooled client) is
    /// boxed so that a plain HTTP VU stays small.
    #[test]
    fn a_vus_iteration_future_stays_small() {
        let size = future_size(|a, v| a.iteration(v, None));
        assert!(size < 6 * 1024, "iteration future is {size} bytes");
    }
}

#[cfg(test)]
mod mix_tests {
    use super::mix_point;

    #[test]
    fn golden_ratio_draws_match_weights_within_a_few_iterations() {
        let cumulative = [0.80, 0.95, 1.0];
        for n in [20u64, 100, 1000, 10_000] {
            let mut counts = [0u64; 3];
            for k in 0..n {
                let x = mix_point(k);
                counts[cumulative.iter().position(|c| x < *c).unwrap_or(2)] += 1;
            }
            for (count, share) in counts.iter().zip([0.80, 0.15, 0.05]) {
                let expected = share * n as f64;
                assert!((*count as f64 - expected).abs() <= 3.0, "{n}: {counts:?}");
            }
        }
    }
}
