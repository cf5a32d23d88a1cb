//! Every `soakd_*` family, defined once and registered once (STYLE habit 7).
//!
//! `Families` is a bundle of Arc-backed handles: cloning it is cheap and the clones update the
//! same series, which is how a [`super::ScenarioSink`] writes into the registry without going
//! through [`super::Metrics`]. Counters are registered without `_total`; prometheus-client adds
//! the suffix when encoding. The histogram families are soakd's own ([`HistFamily`]: classic +
//! native + exemplars) and are not in the crate's registry; [`Families::histograms`] lists them.

use super::histfamily::{HistFamily, Series};
use super::labels::*;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

pub type F64Gauge = Gauge<f64, AtomicU64>;

type ByScenario<M> = Family<ScenarioLabels, M>;
type ByThreshold<M> = Family<ThresholdLabels, M>;

#[derive(Clone, Debug)]
pub struct Families {
    pub duration: HistFamily<DurationLabels>,
    pub requests: Family<RequestLabels, Counter>,
    pub failures: Family<FailureLabels, Counter>,
    /// `soakd_http_request_retries_total`: `reason` is `reset` or `closed`.
    pub retries: Family<FailureLabels, Counter>,
    pub checks: Family<CheckLabels, Counter>,
    pub journeys: Family<JourneyLabels, Counter>,
    pub ws_connecting: HistFamily<WsLabels>,
    pub ws_message: HistFamily<WsLabels>,
    pub ws_sessions: Family<WsSessionLabels, Counter>,
    pub ws_messages: Family<WsMessageLabels, Counter>,
    pub ws_reconnects: Family<WsLabels, Counter>,
    pub iterations: ByScenario<Counter>,
    pub dropped: ByScenario<Counter>,
    pub vus: ByScenario<F64Gauge>,
    pub target_rate: ByScenario<F64Gauge>,
    pub lag: HistFamily<ScenarioLabels>,
    pub run_active: ByScenario<Gauge>,
    pub runs: Family<RunLabels, Counter>,
    pub last_start: ByScenario<F64Gauge>,
    pub last_end: ByScenario<F64Gauge>,
    pub last_passed: ByScenario<Gauge>,
    pub last_info: Family<RunInfoLabels, F64Gauge>,
    pub schedule_interval: ByScenario<F64Gauge>,
    pub observed: ByThreshold<F64Gauge>,
    /// `soakd_threshold_window_observed`: a windowed threshold's value over its latest window.
    pub window_observed: ByThreshold<F64Gauge>,
    /// `soakd_threshold_window_breached`: 1 while a windowed threshold's latest window breaches.
    pub window_breached: ByThreshold<Gauge>,
    pub limit: ByThreshold<F64Gauge>,
    pub breached: ByThreshold<Gauge>,
    pub consecutive: ByThreshold<Gauge>,
    pub incident_open: ByThreshold<Gauge>,
    pub drill_recovery: Family<DrillLabels, F64Gauge>,
    pub drill_passed: Family<DrillLabels, Gauge>,
    pub next_run: ByScenario<F64Gauge>,
    pub skipped: Family<SkipLabels, Counter>,
    pub reload_ok: Gauge,
    pub reload_at: F64Gauge,
    pub build_info: Family<BuildLabels, Gauge>,
    pub circuit_open: ByScenario<Gauge>,
    /// `{scenario, reason}` with reason `paused` or `blackout` (same label set as skips).
    pub scenario_paused: Family<SkipLabels, Gauge>,
    pub process: super::process::ProcessFamilies,
    pub state_write_errors: Counter,
    pub uploads: super::uploads::UploadFamilies,
}

impl Families {
    /// Creates every family with `latency` as the request duration boundaries (seconds) and
    /// registers it in `reg` under its DESIGN §5 name.
    pub fn register(reg: &mut Registry, latency: Vec<f64>) -> Families {
        let f = Families {
            duration: HistFamily::new(latency),
            requests: Family::default(),
            failures: Family::default(),
            retries: Family::default(),
            checks: Family::default(),
            journeys: Family::default(),
            ws_connecting: HistFamily::new(WS_LATENCY_BUCKETS),
            ws_message: HistFamily::new(WS_LATENCY_BUCKETS),
            ws_sessions: Family::default(),
            ws_messages: Family::default(),
            ws_reconnects: Family::default(),
            iterations: Family::default(),
            dropped: Family::default(),
            vus: Family::default(),
            target_rate: Family::default(),
            lag: HistFamily::new(LAG_BUCKETS),
            run_active: Family::default(),
            runs: Family::default(),
            last_start: Family::default(),
            last_end: Family::default(),
            last_passed: Family::default(),
            last_info: Family::default(),
            schedule_interval: Family::default(),
            observed: Family::default(),
            window_observed: Family::default(),
            window_breached: Family::default(),
            limit: Family::default(),
            breached: Family::default(),
            consecutive: Family::default(),
            incident_open: Family::default(),
            drill_recovery: Family::default(),
            drill_passed: Family::default(),
            next_run: Family::default(),
            skipped: Family::default(),
            reload_ok: Gauge::default(),
            reload_at: F64Gauge::default(),
            build_info: Family::default(),
            circuit_open: Family::default(),
            scenario_paused: Family::default(),
            process: Default::default(),
            state_write_errors: Counter::default(),
            uploads: Default::default(),
        };
        let r = reg;
        r.register(
            "soakd_http_requests",
            "Requests by response status (0 = no response)",
            f.requests.clone(),
        );
        r.register(
            "soakd_http_request_failures",
            "Failed requests by reason",
            f.failures.clone(),
        );
        r.register(
            "soakd_http_request_retries",
            "Re-sends on a fresh connection after a reused keep-alive connection was reset (reset) or closed (closed) under the request",
            f.retries.clone(),
        );
        r.register("soakd_checks", "Check results", f.checks.clone());
        r.register(
            "soakd_journeys",
            "Finished iterations by mix entry (journey): ok when every request succeeded",
            f.journeys.clone(),
        );
        r.register(
            "soakd_ws_sessions",
            "Finished WebSocket sessions: dropped when the connection closed before its end",
            f.ws_sessions.clone(),
        );
        r.register(
            "soakd_ws_messages",
            "WebSocket messages sent, received, and lost (no reply in time)",
            f.ws_messages.clone(),
        );
        r.register(
            "soakd_ws_reconnects",
            "WebSocket reconnects within sessions",
            f.ws_reconnects.clone(),
        );
        r.register(
            "soakd_iterations",
            "Finished iterations",
            f.iterations.clone(),
        );
        r.register(
            "soakd_dropped_iterations",
            "Iterations an open model could not start because every VU was busy",
            f.dropped.clone(),
        );
        r.register(
            "soakd_vus",
            "Virtual users of the running run",
            f.vus.clone(),
        );
        r.register(
            "soakd_target_rate_per_second",
            "Target iteration rate of the running run",
            f.target_rate.clone(),
        );
        r.register(
            "soakd_run_active",
            "1 while a run of the scenario is in progress",
            f.run_active.clone(),
        );
        r.register(
            "soakd_runs",
            "Finished runs by result (pass, fail, aborted, error)",
            f.runs.clone(),
        );
        r.register(
            "soakd_run_last_start_timestamp_seconds",
            "Unix time the last run started",
            f.last_start.clone(),
        );
        r.register(
            "soakd_run_last_end_timestamp_seconds",
            "Unix time the last run ended",
            f.last_end.clone(),
        );
        r.register(
            "soakd_run_last_passed",
            "1 if the last run passed, else 0",
            f.last_passed.clone(),
        );
        r.register(
            "soakd_run_last_info",
            "The scenario's last run (run_id, report_url, dashboard_url); value: its end, Unix time",
            f.last_info.clone(),
        );
        r.register(
            "soakd_schedule_interval_seconds",
            "Expected time between runs: a continuous scenario's run duration, a cron scenario's time between fires",
            f.schedule_interval.clone(),
        );
        r.register(
            "soakd_threshold_observed",
            "Aggregated value of the threshold's metric in the last run (ms for durations)",
            f.observed.clone(),
        );
        r.register(
            "soakd_threshold_limit",
            "The threshold's limit as written (ms for durations)",
            f.limit.clone(),
        );
        r.register(
            "soakd_threshold_breached",
            "1 if the last run breached the threshold",
            f.breached.clone(),
        );
        r.register(
            "soakd_threshold_consecutive_breaches",
            "Runs in a row that breached the threshold",
            f.consecutive.clone(),
        );
        r.register(
            "soakd_incident_open",
            "1 while the threshold's incident is open",
            f.incident_open.clone(),
        );
        r.register(
            "soakd_drill_recovery_seconds",
            "Seconds from the drill's action until the failure rate stayed below its bound (last run)",
            f.drill_recovery.clone(),
        );
        r.register(
            "soakd_drill_passed",
            "1 when every expectation of the drill held in the last run",
            f.drill_passed.clone(),
        );
        r.register(
            "soakd_schedule_next_run_timestamp_seconds",
            "Unix time of the next scheduled run",
            f.next_run.clone(),
        );
        r.register(
            "soakd_schedule_skipped",
            "Scheduled runs not started, by reason (overlap, max_concurrent, missed)",
            f.skipped.clone(),
        );
        r.register(
            "soakd_config_last_reload_successful",
            "1 if the last config reload succeeded",
            f.reload_ok.clone(),
        );
        r.register(
            "soakd_config_last_reload_timestamp_seconds",
            "Unix time of the last config reload attempt",
            f.reload_at.clone(),
        );
        r.register(
            "soakd_build_info",
            "Always 1; labels carry the build",
            f.build_info.clone(),
        );
        r.register(
            "soakd_circuit_open",
            "1 while the scenario's circuit breaker holds it (a run tripped it; cooldown running)",
            f.circuit_open.clone(),
        );
        r.register(
            "soakd_scenario_paused",
            "1 while the scenario may not start runs, by reason (paused via the API, blackout)",
            f.scenario_paused.clone(),
        );
        f.process.register(r);
        r.register(
            "soakd_state_write_errors",
            "Failed writes of breach state or run summaries (disk full, read-only)",
            f.state_write_errors.clone(),
        );
        r.register(
            "soakd_threshold_window_observed",
            "A windowed threshold's value over its latest sliding window while the run goes (NaN: no data in the window)",
            f.window_observed.clone(),
        );
        r.register(
            "soakd_threshold_window_breached",
            "1 while a windowed threshold's latest sliding window breaches, 0 while it passes",
            f.window_breached.clone(),
        );
        f.uploads.register(r);
        f
    }

    /// The histogram families (soakd's own encoders write them): (name, help, series).
    pub fn histograms(&self) -> [(&'static str, &'static str, Vec<Series>); 4] {
        [
            (
                "soakd_http_request_duration_seconds",
                "Request latency, from the intended start in open models",
                self.duration.collect(),
            ),
            (
                "soakd_ws_connecting_seconds",
                "WebSocket handshake time of successful connects",
                self.ws_connecting.collect(),
            ),
            (
                "soakd_ws_message_duration_seconds",
                "WebSocket message round trip: sent until its reply arrived",
                self.ws_message.collect(),
            ),
            (
                "soakd_generator_lag_seconds",
                "How late iterations started against their intended start",
                self.lag.collect(),
            ),
        ]
    }
}
