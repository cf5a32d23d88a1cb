//! Telemetry: the Prometheus families of DESIGN §5 and the calls that update them.
//!
//! The run itself never reads these families (verdicts come from the recorder's exact numbers,
//! DESIGN §4); they exist so that Prometheus can watch soakd across runs. One [`Metrics`] owns
//! one registry with every family defined once. The hot path goes through a [`ScenarioSink`]
//! whose series handles are resolved once per request name; run-level events (start, finish,
//! schedule, reload) go through methods on `Metrics`. Every label set created for a scenario is
//! remembered so that [`Metrics::remove_scenario`] can drop exactly that scenario's series.

mod expose;
mod families;
mod hist;
mod histfamily;
mod labels;
mod process;
mod proto;
mod sink;
mod uploads;

pub use expose::Format;
pub use hist::{Hist, TraceId};
pub use labels::{
    LAG_BUCKETS, RunInfoLabels, StatusClass, WS_LATENCY_BUCKETS, default_latency_buckets,
    escape_label_value, latency_buckets,
};
pub use sink::ScenarioSink;

use crate::plan::threshold::Metric;
use crate::plan::{RequestMeta, Threshold};
use crate::verdict::Outcome;
use families::Families;
use labels::*;
use prometheus_client::registry::Registry;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// Label sets created for one scenario in the families not keyed by scenario alone.
#[derive(Default)]
struct Known {
    duration: HashSet<DurationLabels>,
    requests: HashSet<RequestLabels>,
    failures: HashSet<FailureLabels>,
    retries: HashSet<FailureLabels>,
    checks: HashSet<CheckLabels>,
    journeys: HashSet<JourneyLabels>,
    /// Connecting, round trip and reconnect series share these labels.
    ws: HashSet<WsLabels>,
    ws_sessions: HashSet<WsSessionLabels>,
    ws_messages: HashSet<WsMessageLabels>,
    runs: HashSet<RunLabels>,
    thresholds: HashSet<ThresholdLabels>,
    drills: HashSet<DrillLabels>,
    skipped: HashSet<SkipLabels>,
    last_info: Option<RunInfoLabels>,
}

/// Known label sets per scenario, shared with the sinks (which add to it on first use only).
#[derive(Clone, Default)]
struct Tracker(Arc<Mutex<HashMap<String, Known>>>);

impl Tracker {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Known>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn with(&self, scenario: &str, f: impl FnOnce(&mut Known)) {
        let mut map = self.lock();
        match map.get_mut(scenario) {
            Some(k) => f(k),
            None => f(map.entry(scenario.to_owned()).or_default()),
        }
    }
}

/// Every `soakd_*` family in one registry.
pub struct Metrics {
    registry: Registry,
    f: Families,
    known: Tracker,
    /// Size of the last exposition: the next one is written into a buffer of that size instead
    /// of growing a string through ~20 doublings (a tenth of the encode time at 3 MiB).
    last_len: std::sync::atomic::AtomicUsize,
}

/// Limits (ms) of the `http_req_duration` thresholds, for [`Metrics::with_latency_limits`].
pub fn latency_limits_ms<'a>(thresholds: impl IntoIterator<Item = &'a Threshold>) -> Vec<f64> {
    thresholds
        .into_iter()
        .filter(|t| t.metric == Metric::HttpReqDuration)
        .map(|t| t.limit)
        .collect()
}

fn scen(scenario: &str) -> ScenarioLabels {
    ScenarioLabels {
        scenario: scenario.to_owned(),
    }
}

fn thr(scenario: &str, threshold: &str) -> ThresholdLabels {
    ThresholdLabels {
        scenario: scenario.to_owned(),
        threshold: threshold.to_owned(),
    }
}

impl Metrics {
    /// Families with the default latency buckets only.
    pub fn new() -> Arc<Metrics> {
        Self::with_latency_limits(&[])
    }

    /// Families whose request duration buckets also include every given limit (ms), typically
    /// the union of all scenarios' `http_req_duration` limits (see [`latency_limits_ms`]).
    /// The boundaries are fixed for the life of the registry: a family shares one constructor.
    pub fn with_latency_limits(limits_ms: &[f64]) -> Arc<Metrics> {
        let mut registry = Registry::default();
        let f = Families::register(&mut registry, latency_buckets(limits_ms));
        let revision = option_env!("SOAKD_REVISION").unwrap_or("unknown");
        f.build_info
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_owned(),
                revision: revision.to_owned(),
            })
            .set(1);
        Arc::new(Metrics {
            registry,
            f,
            known: Tracker::default(),
            last_len: Default::default(),
        })
    }

    /// The whole registry as OpenMetrics text, ending in `# EOF` (see [`Metrics::expose`] for
    /// the other formats).
    pub fn encode(&self) -> String {
        String::from_utf8(self.expose(Format::OpenMetrics)).unwrap_or_default()
    }

    /// The crate-encoded families (counters, gauges) as OpenMetrics text without `# EOF`.
    fn encode_registry(&self) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        let hint = self.last_len.load(Relaxed);
        let mut out = String::with_capacity(hint + hint / 8);
        if let Err(e) = prometheus_client::encoding::text::encode_registry(&mut out, &self.registry)
        {
            tracing::warn!(error = %e, "encoding /metrics failed; the exposition is truncated");
        }
        self.last_len.store(out.len(), Relaxed);
        out
    }

    fn refresh_process(&self) {
        self.f.process.refresh();
    }

    /// The hot-path sink of one run of `scenario`; `requests` is `Scenario::requests` (the
    /// recorder's request indices index it).
    pub fn scenario_sink(&self, scenario: &str, requests: &[RequestMeta]) -> Arc<ScenarioSink> {
        Arc::new(ScenarioSink::new(
            self.f.clone(),
            self.known.clone(),
            scenario,
            requests,
        ))
    }

    pub fn run_started(&self, scenario: &str, vus: f64, target_rate: f64, at_unix: f64) {
        let s = scen(scenario);
        self.f.run_active.get_or_create(&s).set(1);
        self.f.vus.get_or_create(&s).set(vus);
        self.f.target_rate.get_or_create(&s).set(target_rate);
        self.f.last_start.get_or_create(&s).set(at_unix);
        // Every result starts at zero so `increase(...{result="fail"})` works from the first run.
        self.known.with(scenario, |k| {
            for result in RUN_RESULTS {
                let l = RunLabels {
                    scenario: scenario.to_owned(),
                    result: result.to_owned(),
                };
                let _ = self.f.runs.get_or_create(&l);
                k.runs.insert(l);
            }
        });
    }

    pub fn set_vus(&self, scenario: &str, vus: f64) {
        self.f.vus.get_or_create(&scen(scenario)).set(vus);
    }

    pub fn set_target_rate(&self, scenario: &str, rate: f64) {
        self.f.target_rate.get_or_create(&scen(scenario)).set(rate);
    }

    /// A run ended with `result` (`pass`, `fail`, `aborted`, `error`). `outcomes` are its
    /// threshold verdicts and `consecutive` the breach tracker's (threshold, count, incident
    /// open) after recording it. A non-empty `outcomes` is the scenario's full threshold list:
    /// series of thresholds in neither list are dropped (they left the config).
    pub fn run_finished(
        &self,
        scenario: &str,
        result: &str,
        at_unix: f64,
        outcomes: &[Outcome],
        consecutive: &[(String, u32, bool)],
    ) {
        let s = scen(scenario);
        self.f.run_active.get_or_create(&s).set(0);
        self.f.last_end.get_or_create(&s).set(at_unix);
        self.f
            .last_passed
            .get_or_create(&s)
            .set(i64::from(result == "pass"));
        let run = RunLabels {
            scenario: scenario.to_owned(),
            result: result.to_owned(),
        };
        self.f.runs.get_or_create(&run).inc();
        self.known.with(scenario, |k| {
            k.runs.insert(run);
        });
        for o in outcomes {
            let l = thr(scenario, &o.threshold);
            match o.observed {
                Some(v) => {
                    self.f.observed.get_or_create(&l).set(v);
                }
                None => {
                    self.f.observed.remove(&l);
                }
            }
            self.f.limit.get_or_create(&l).set(o.limit);
            self.f.breached.get_or_create(&l).set(i64::from(o.breached));
            self.known.with(scenario, |k| {
                k.thresholds.insert(l);
            });
        }
        for (threshold, count, open) in consecutive {
            self.set_breaches(scenario, threshold, *count, *open);
        }
        if !outcomes.is_empty() {
            let keep: HashSet<&str> = outcomes
                .iter()
                .map(|o| o.threshold.as_str())
                .chain(consecutive.iter().map(|c| c.0.as_str()))
                .collect();
            self.known.with(scenario, |k| {
                k.thresholds.retain(|l| {
                    let stays = keep.contains(l.threshold.as_str());
                    if !stays {
                        self.remove_threshold(l);
                    }
                    stays
                });
            });
        }
    }

    /// A run's drill results: `(drill, recovery seconds if measured, passed)`. Drills absent
    /// from the list (removed from the config) lose their series.
    pub fn drills_finished(&self, scenario: &str, drills: &[(String, Option<f64>, bool)]) {
        let f = &self.f;
        self.known.with(scenario, |k| {
            k.drills.retain(|l| {
                let stays = drills.iter().any(|d| d.0 == l.drill);
                if !stays {
                    f.drill_recovery.remove(l);
                    f.drill_passed.remove(l);
                }
                stays
            });
            for (drill, recovery, passed) in drills {
                let l = DrillLabels {
                    scenario: scenario.to_owned(),
                    drill: drill.clone(),
                };
                match recovery {
                    Some(v) => {
                        f.drill_recovery.get_or_create(&l).set(*v);
                    }
                    None => {
                        f.drill_recovery.remove(&l);
                    }
                }
                f.drill_passed.get_or_create(&l).set(i64::from(*passed));
                k.drills.insert(l);
            }
        });
    }

    /// Next scheduled start; None (manual-only or paused) removes the series. Every skip
    /// reason of the scenario is exported (at 0) from here on, so alerts see the first skip.
    pub fn schedule_next(&self, scenario: &str, at_unix: Option<f64>) {
        self.known.with(scenario, |k| {
            for reason in SKIP_REASONS {
                let l = SkipLabels {
                    scenario: scenario.to_owned(),
                    reason: reason.to_owned(),
                };
                if !k.skipped.contains(&l) {
                    let _ = self.f.skipped.get_or_create(&l);
                    k.skipped.insert(l);
                }
            }
        });
        let s = scen(scenario);
        match at_unix {
            Some(t) => {
                self.f.next_run.get_or_create(&s).set(t);
            }
            None => {
                self.f.next_run.remove(&s);
            }
        }
    }

    /// The scenario's last run, replacing the previous one's series.
    pub fn run_info(&self, info: RunInfoLabels, ended_unix: f64) {
        let scenario = info.scenario.clone();
        self.f.last_info.get_or_create(&info).set(ended_unix);
        self.known.with(&scenario, |k| {
            if let Some(old) = k.last_info.replace(info.clone())
                && old != info
            {
                self.f.last_info.remove(&old);
            }
        });
    }

    /// Expected seconds between runs; None (manual) removes the series.
    pub fn schedule_interval(&self, scenario: &str, seconds: Option<f64>) {
        let s = scen(scenario);
        match seconds {
            Some(v) => {
                self.f.schedule_interval.get_or_create(&s).set(v);
            }
            None => {
                self.f.schedule_interval.remove(&s);
            }
        }
    }

    /// A scheduled run not started; `reason` is `overlap`, `max_concurrent`, `missed`,
    /// `paused`, `blackout` or `circuit_open`.
    pub fn schedule_skipped(&self, scenario: &str, reason: &str) {
        let l = SkipLabels {
            scenario: scenario.to_owned(),
            reason: reason.to_owned(),
        };
        self.f.skipped.get_or_create(&l).inc();
        self.known.with(scenario, |k| {
            k.skipped.insert(l);
        });
    }

    /// `soakd_circuit_open{scenario}`.
    pub fn circuit_open(&self, scenario: &str, open: bool) {
        self.f
            .circuit_open
            .get_or_create(&scen(scenario))
            .set(i64::from(open));
    }

    /// `soakd_scenario_paused{scenario, reason}`; `reason` is `paused` or `blackout`.
    pub fn scenario_paused(&self, scenario: &str, reason: &str, on: bool) {
        let l = SkipLabels {
            scenario: scenario.to_owned(),
            reason: reason.to_owned(),
        };
        self.f.scenario_paused.get_or_create(&l).set(i64::from(on));
    }

    /// The uploader's view of `soakd_results_*` (`results.object_store`).
    pub fn upload_observer(&self) -> Arc<dyn crate::state::upload::UploadObserver> {
        Arc::new(self.f.uploads.clone())
    }

    /// A write of breach state or of a run summary failed.
    pub fn state_write_failed(&self) {
        self.f.state_write_errors.inc();
    }

    /// A config reload attempt (successful or not) at `at_unix`.
    pub fn config_reloaded(&self, ok: bool, at_unix: f64) {
        self.f.reload_ok.set(i64::from(ok));
        self.f.reload_at.set(at_unix);
    }

    /// Breach state read back from durable state at startup.
    pub fn restore_breaches(&self, scenario: &str, threshold: &str, count: u32, open: bool) {
        self.set_breaches(scenario, threshold, count, open);
    }

    fn set_breaches(&self, scenario: &str, threshold: &str, count: u32, open: bool) {
        let l = thr(scenario, threshold);
        self.f.consecutive.get_or_create(&l).set(i64::from(count));
        self.f.incident_open.get_or_create(&l).set(i64::from(open));
        self.known.with(scenario, |k| {
            k.thresholds.insert(l);
        });
    }

    fn remove_threshold(&self, l: &ThresholdLabels) {
        self.f.observed.remove(l);
        self.f.window_observed.remove(l);
        self.f.window_breached.remove(l);
        self.f.limit.remove(l);
        self.f.breached.remove(l);
        self.f.consecutive.remove(l);
        self.f.incident_open.remove(l);
    }

    /// Drops every series of a scenario removed from the config. A sink still held by a run of
    /// it keeps counting into detached handles, which no longer show up in `/metrics`.
    pub fn remove_scenario(&self, scenario: &str) {
        let s = scen(scenario);
        let f = &self.f;
        for fam in [&f.iterations, &f.dropped] {
            fam.remove(&s);
        }
        for fam in [
            &f.vus,
            &f.target_rate,
            &f.last_start,
            &f.last_end,
            &f.next_run,
            &f.schedule_interval,
        ] {
            fam.remove(&s);
        }
        for reason in ["paused", "blackout"] {
            f.scenario_paused.remove(&SkipLabels {
                scenario: scenario.to_owned(),
                reason: reason.to_owned(),
            });
        }
        for fam in [&f.run_active, &f.last_passed, &f.circuit_open] {
            fam.remove(&s);
        }
        f.lag.remove(&s);
        let Some(k) = self.known.lock().remove(scenario) else {
            return;
        };
        k.duration.iter().for_each(|l| _ = f.duration.remove(l));
        k.requests.iter().for_each(|l| _ = f.requests.remove(l));
        k.failures.iter().for_each(|l| _ = f.failures.remove(l));
        k.retries.iter().for_each(|l| _ = f.retries.remove(l));
        k.checks.iter().for_each(|l| _ = f.checks.remove(l));
        k.journeys.iter().for_each(|l| _ = f.journeys.remove(l));
        k.ws.iter().for_each(|l| {
            f.ws_connecting.remove(l);
            f.ws_message.remove(l);
            f.ws_reconnects.remove(l);
        });
        k.ws_sessions
            .iter()
            .for_each(|l| _ = f.ws_sessions.remove(l));
        k.ws_messages
            .iter()
            .for_each(|l| _ = f.ws_messages.remove(l));
        k.runs.iter().for_each(|l| _ = f.runs.remove(l));
        if let Some(l) = &k.last_info {
            f.last_info.remove(l);
        }
        k.skipped.iter().for_each(|l| _ = f.skipped.remove(l));
        k.thresholds.iter().for_each(|l| self.remove_threshold(l));
        k.drills.iter().for_each(|l| {
            f.drill_recovery.remove(l);
            f.drill_passed.remove(l);
        });
    }
}
