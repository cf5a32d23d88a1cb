//! soakd's metric families as the tests know them, listed once: DESIGN §5 (the contract) and
//! the additions of docs/contract-extensions.md, each with its type. The telemetry and daemon
//! tests check /metrics against it, tests/ops.rs the alert rules and dashboards.
//!
//! Why one list: three tests each carried their own copy of DESIGN §5, and a family added to
//! the contract had to be found and added three times. A test that needs only some families
//! names them through [`family`], which fails on a name the list does not hold. It depends on
//! `std` only (`#[path = "common/metrics.rs"]` from any test binary).

#![allow(dead_code)]

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    /// Exposed as `_bucket`, `_sum` and `_count` series (and a native histogram of the bare
    /// name, in the protobuf format).
    Histogram,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The table of DESIGN §5.
    Design,
    /// docs/contract-extensions.md.
    Extension,
}

/// One family; `name` as it appears in sample lines (counters with `_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    pub name: &'static str,
    pub kind: Kind,
    pub origin: Origin,
}

const fn f(name: &'static str, kind: Kind, origin: Origin) -> Family {
    Family { name, kind, origin }
}

use Kind::{Counter, Gauge, Histogram};
use Origin::{Design, Extension};

/// Every family, DESIGN §5 first in its table's order.
pub const FAMILIES: &[Family] = &[
    f("soakd_http_request_duration_seconds", Histogram, Design),
    f("soakd_http_requests_total", Counter, Design),
    f("soakd_http_request_failures_total", Counter, Design),
    f("soakd_checks_total", Counter, Design),
    f("soakd_iterations_total", Counter, Design),
    f("soakd_dropped_iterations_total", Counter, Design),
    f("soakd_vus", Gauge, Design),
    f("soakd_target_rate_per_second", Gauge, Design),
    f("soakd_generator_lag_seconds", Histogram, Design),
    f("soakd_run_active", Gauge, Design),
    f("soakd_runs_total", Counter, Design),
    f("soakd_run_last_start_timestamp_seconds", Gauge, Design),
    f("soakd_run_last_end_timestamp_seconds", Gauge, Design),
    f("soakd_run_last_passed", Gauge, Design),
    f("soakd_threshold_observed", Gauge, Design),
    f("soakd_threshold_limit", Gauge, Design),
    f("soakd_threshold_breached", Gauge, Design),
    f("soakd_threshold_consecutive_breaches", Gauge, Design),
    f("soakd_incident_open", Gauge, Design),
    f("soakd_schedule_next_run_timestamp_seconds", Gauge, Design),
    f("soakd_schedule_skipped_total", Counter, Design),
    f("soakd_config_last_reload_successful", Gauge, Design),
    f("soakd_config_last_reload_timestamp_seconds", Gauge, Design),
    f("soakd_build_info", Gauge, Design),
    // docs/contract-extensions.md
    f("soakd_journeys_total", Counter, Extension),
    f("soakd_http_request_retries_total", Counter, Extension),
    f("soakd_ws_connecting_seconds", Histogram, Extension),
    f("soakd_ws_message_duration_seconds", Histogram, Extension),
    f("soakd_ws_sessions_total", Counter, Extension),
    f("soakd_ws_messages_total", Counter, Extension),
    f("soakd_ws_reconnects_total", Counter, Extension),
    f("soakd_circuit_open", Gauge, Extension),
    f("soakd_scenario_paused", Gauge, Extension),
    f("soakd_run_last_info", Gauge, Extension),
    f("soakd_schedule_interval_seconds", Gauge, Extension),
    f("soakd_state_write_errors_total", Counter, Extension),
    f("soakd_results_uploads_total", Counter, Extension),
    f("soakd_results_upload_failures_total", Counter, Extension),
    f("soakd_results_upload_pending", Gauge, Extension),
    f("soakd_results_pruned_objects_total", Counter, Extension),
    f("soakd_threshold_window_breached", Gauge, Extension),
    f("soakd_threshold_window_observed", Gauge, Extension),
    f("soakd_drill_recovery_seconds", Gauge, Extension),
    f("soakd_drill_passed", Gauge, Extension),
];

/// The families of DESIGN §5.
pub fn design() -> impl Iterator<Item = &'static Family> {
    FAMILIES.iter().filter(|f| f.origin == Design)
}

/// The family `name`; panics when the list does not hold it (a typo, or a family missing here).
pub fn family(name: &str) -> &'static Family {
    FAMILIES
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("{name} is not a soakd family (tests/common/metrics.rs)"))
}

impl Family {
    /// The name of the series every sample of it has: a histogram's `_bucket`, else the name.
    pub fn sample_name(&self) -> String {
        match self.kind {
            Histogram => format!("{}_bucket", self.name),
            Counter | Gauge => self.name.to_string(),
        }
    }

    /// Every series name of its text exposition: a histogram's `_bucket`, `_sum` and `_count`.
    pub fn series_names(&self) -> Vec<String> {
        match self.kind {
            Histogram => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|s| format!("{}{s}", self.name))
                .collect(),
            Counter | Gauge => vec![self.name.to_string()],
        }
    }
}
