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
pub mod request;
pub mod schedule;
pub mod sut;
pub mod template;
mod template_check;
pub mod threshold;
pub mod ws;

pub use checks::{Check, CheckKind};
pub use compile::{compile, compile_loaded, estimated_series};
pub use errors::Errors;
pub use executor::{Executor, Load, Stage};
pub use request::{Body, MixEntry, RequestMeta, RequestStep, Step};
pub use schedule::Schedule;
pub use template::{Templates, Tmpl};
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
    pub state_dir: PathBuf,
    pub results_dir: PathBuf,
    pub retention: Duration,
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
    pub max_body_bytes: usize,
    pub load: Load,
    /// Weighted entries; `weights` holds the cumulative normalised weights (last = 1.0).
    pub mix: Vec<MixEntry>,
    pub cumulative_weights: Vec<f64>,
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
    /// A stable fingerprint of the scenario's config, to tell changed scenarios on reload.
    pub fingerprint: u64,
}

impl Scenario {
    /// The same scenario with every duration multiplied by `factor` (0 < factor ≤ 1), rates
    /// unchanged: for tests and dry runs of long scenarios.
    pub fn time_scaled(&self, factor: f64) -> Scenario {
        let mut s = self.clone();
        s.load = s.load.scaled(factor);
        s.sut = s.sut.scaled(factor);
        for entry in &mut s.mix {
            for step in &mut entry.steps {
                match step {
                    Step::Think { min, max } => {
                        *min = min.mul_f64(factor);
                        *max = max.mul_f64(factor);
                    }
                    // A session's length and pace are the plan's time too (a 10 min chat
                    // session must not outlive a run scaled to 12 s).
                    Step::WebSocket(ws) => {
                        ws.duration = ws.duration.mul_f64(factor);
                        ws.send_every = ws.send_every.map(|d| d.mul_f64(factor));
                    }
                    Step::Request(_) => {}
                }
            }
        }
        s
    }

    /// This replica's share of the scenario (see `Load::sharded`).
    pub fn sharded(&self, index: u32, count: u32) -> Scenario {
        let mut s = self.clone();
        s.load = s.load.sharded(index, count);
        // A drill is one fault on the shared system: only the first replica fires it.
        if index != 0 {
            s.sut.drills.clear();
        }
        s
    }

    /// Highest request rate this scenario can ask for (per second), when it is bounded.
    pub fn peak_rate(&self) -> Option<f64> {
        self.load.executor.peak_rate()
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
