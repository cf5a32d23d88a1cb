//! The validated plan: what the engine runs.
//!
//! `compile` turns raw config into these types or returns every error at once. Durations are
//! parsed, weights normalised, rates converted to per second, templates compiled and thresholds
//! parsed here, once, so the hot path never re-validates anything.

pub mod allow;
mod body;
pub mod bounds;
pub mod checks;
mod compile;
pub mod data;
mod errors;
pub mod executor;
pub mod follow;
mod judging;
mod load_compile;
mod names;
pub mod object_store;
pub mod rate_of;
pub mod request;
pub mod safety_windows;
pub mod schedule;
pub mod sut;
mod tag_filter;
pub mod template;
mod template_check;
pub mod threshold;
pub mod ws;

pub use checks::{Check, CheckKind};
pub use compile::{
    DEFAULT_LATENCY_BUCKETS, MAX_FAILURE_REASON_SERIES, compile, compile_loaded, estimated_series,
};
pub use errors::Errors;
pub use executor::{
    ConstantArrivalRate, ConstantVus, Executor, Load, PerVuIterations, RampingArrivalRate,
    RampingVus, SharedIterations, Stage,
};
pub use request::{Body, MixEntry, RequestMeta, RequestStep, Step};
pub use schedule::Schedule;
pub use template::{TemplateError, Templates, Tmpl};
pub use threshold::Threshold;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A whole validated config.
#[derive(Debug, Clone)]
pub struct Plan {
    /// File the plan came from (for messages).
    pub source: String,
    pub listen: SocketAddr,
    pub admin_token_file: Option<PathBuf>,
    /// `server.external_url` / `server.grafana_url` without a trailing slash.
    pub external_url: Option<String>,
    pub grafana_url: Option<String>,
    pub state_dir: PathBuf,
    pub results_dir: PathBuf,
    /// `results.format` has `k6`: write k6's summary export beside each run summary.
    pub results_k6: bool,
    pub retention: Duration,
    /// `results.object_store`: a bucket every summary and report is also uploaded to.
    pub object_store: Option<object_store::ObjectStorePlan>,
    pub allowed_hosts: Vec<String>,
    pub max_rps: Option<f64>,
    pub max_concurrent_runs: Option<usize>,
    pub shutdown_timeout: Duration,
    pub scenarios: BTreeMap<String, Arc<Scenario>>,
}

/// One scenario, ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub schedule: Schedule,
    pub base_url: Option<url::Url>,
    pub insecure_skip_verify: bool,
    pub h2c: bool,
    /// `target.retry_on_reused_connection` (default true): one counted re-send on a fresh
    /// connection when a reused one was closed or reset under an idempotent request.
    pub retry_on_reused_connection: bool,
    /// On a sharded replica (`--shard I/N`), the phase of its open-model arrivals as a fraction
    /// of one inter-arrival gap (I/N); its runs then start on a wall-clock grid shared by all
    /// replicas, so their streams interleave into one even stream. None when not sharded.
    pub arrival_phase: Option<f64>,
    pub max_body_bytes: usize,
    pub load: Load,
    /// Weighted entries; `weights` holds the cumulative normalised weights (last = 1.0).
    pub mix: Vec<MixEntry>,
    pub cumulative_weights: Vec<f64>,
    /// Expected HTTP requests per iteration of the weighted mix.
    pub requests_per_iteration: f64,
    /// `load.rate_of: requests`: the written arrival rates counted requests; `load` holds the
    /// iteration rates derived from them (`rate_of.rs`).
    pub rate_of_requests: bool,
    /// `stages[].name` of the load, by stage index (empty without stages).
    pub stage_names: Vec<Option<String>>,
    /// Every request of the mix, flattened; `RequestStep::index` points here.
    pub requests: Vec<RequestMeta>,
    pub templates: Arc<Templates>,
    /// `safety.allowed_hosts`, checked again at request time for templated URLs.
    pub allowed_hosts: Arc<[String]>,
    /// Data pools the templates may read (`data.POOL.FIELD`).
    pub pools: Arc<[data::Pool]>,
    pub thresholds: Vec<Threshold>,
    pub consecutive_breaches: u32,
    /// Allowed regression against the last passing run, in percent (`baseline:`), if any.
    pub baseline_max_regression: Option<f64>,
    /// PromQL checks and drills on the system under test (`sut_checks`, `drills`).
    pub sut: sut::SutPlan,
    /// Blackouts, circuit breaker and statistical baseline (`plan::safety_windows`).
    pub always_on: safety_windows::AlwaysOn,
    /// A stable fingerprint of the scenario's config, to tell changed scenarios on reload.
    pub fingerprint: u64,
    /// Fraction of requests sent with a W3C `traceparent` (`defaults.trace`; 0 = none).
    pub trace_sample: f64,
    /// Response header kept as the request id (`defaults.trace.request_id_header`).
    pub request_id_header: hyper::header::HeaderName,
}

impl Scenario {
    /// The same scenario with its timeline multiplied by `factor` (0 < factor ≤ 1): stage and
    /// run durations, drill times, windows and the `time_scaled(N)` numbers of drill bodies,
    /// WebSocket session lengths, and the count limits of volume metrics (a count is a rate
    /// times the timeline). Nothing that sets the
    /// pace of the load changes: rates, think time and `send_every` stay as written, so a scaled
    /// run makes the same requests per second as the real one, for less time (DESIGN §2).
    pub fn time_scaled(&self, factor: f64) -> Scenario {
        let mut s = self.clone();
        s.load = s.load.scaled(factor);
        // The scale must never cut a request the real run lets finish: `graceful_stop` (scaled
        // like the timeline) is at least the longest request timeout, capped at the written
        // grace. (`graceful_ramp_down` belongs to the stages and scales with them.)
        let longest = s
            .mix
            .iter()
            .flat_map(|m| m.steps.iter())
            .filter_map(|st| match st {
                Step::Request(r) => Some(r.timeout),
                _ => None,
            })
            .max()
            .unwrap_or_default();
        s.load.graceful_stop = s
            .load
            .graceful_stop
            .max(longest.min(self.load.graceful_stop));
        s.sut = s.sut.scaled(factor);
        // A window is part of the timeline (its label keeps the written length), and a count
        // of requests or iterations is a rate times the timeline: both shrink with it.
        s.thresholds = s.thresholds.iter().map(|t| t.time_scaled(factor)).collect();
        for entry in &mut s.mix {
            for step in &mut entry.steps {
                // A session's length is the plan's time (a 10 min chat session must not
                // outlive a run scaled to 12 s); its `send_every` is its pace.
                if let Step::WebSocket(ws) = step {
                    ws.duration = ws.duration.mul_f64(factor);
                }
            }
        }
        s
    }

    /// This replica's share of the scenario (see `Load::sharded`).
    pub fn sharded(&self, index: u32, count: u32) -> Scenario {
        let mut s = self.clone();
        s.load = s.load.sharded(index, count);
        // Volume limits are judged on this replica's share; ratios and latencies as written.
        s.thresholds = s.thresholds.iter().map(|t| t.sharded(count)).collect();
        // Replica I's arrivals sit I/N of a gap after replica 0's: one even stream in total.
        s.arrival_phase = (count > 1).then(|| index as f64 / count as f64);
        // A drill is one fault on the shared system: only the first replica fires it.
        if index != 0 {
            s.sut.drills.clear();
        }
        s
    }

    /// Each mix entry's normalised weight (its share of iterations), from the cumulative ones.
    pub fn weights(&self) -> Vec<f64> {
        let mut prev = 0.0;
        self.cumulative_weights
            .iter()
            .map(|c| {
                let w = c - prev;
                prev = *c;
                w
            })
            .collect()
    }

    /// Highest request rate this scenario can ask for (per second), when it is bounded: the
    /// peak iteration rate times the requests an iteration sends (at least one: a WebSocket
    /// session's connection counts).
    pub fn peak_rate(&self) -> Option<f64> {
        self.load
            .executor
            .peak_rate()
            .map(|r| r * self.requests_per_iteration.max(1.0))
    }
}

/// Parses `250ms`, `3m`, `1h30m`, `180d`; `0` alone means zero.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let t = s.trim();
    if t == "0" {
        return Some(Duration::ZERO);
    }
    humantime::parse_duration(t).ok()
}

/// Every secret value the plan can put on the wire, for the log redactor: the values of the
/// environment variables its templates read and the secret fields of its data pools.
pub fn secret_values(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    let mut pools_done = false;
    for s in plan.scenarios.values() {
        for name in s.templates.env_names() {
            if let Ok(v) = std::env::var(&name) {
                out.push(v);
            }
        }
        if !pools_done {
            // Every scenario shares the same pools.
            pools_done = true;
            for p in s.pools.iter() {
                for row in p.rows.iter() {
                    if let Ok(keys) = row.try_iter() {
                        for k in keys {
                            if let Some(v) = row
                                .get_item(&k)
                                .ok()
                                .as_ref()
                                .and_then(template::secret_text)
                            {
                                out.push(v);
                            }
                        }
                    }
                }
            }
        }
    }
    out
}
