//! Raw config of the system under test's side: Prometheus, SUT checks and drills
//! (validated in `plan::sut`).

use super::RawBody;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

// ---- The system under test's side: Prometheus, SUT checks and drills (see plan::sut). ----

/// Where SUT checks send their PromQL instant queries.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPrometheus {
    /// Base URL, e.g. `http://prometheus:9090`.
    pub url: Option<String>,
    /// File holding a bearer token sent as `Authorization: Bearer …`.
    pub bearer_token_file: Option<String>,
    /// Per-query timeout (default 5s).
    pub timeout: Option<String>,
}

/// One PromQL check: `query` sampled every `every`, aggregated and compared as in `threshold`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSutCheck {
    pub name: String,
    /// A PromQL expression returning a scalar or a vector (its first sample is used).
    pub query: String,
    /// `AGG OP LIMIT` with AGG one of max, min, avg, last, increase, e.g. `max<0.75`.
    pub threshold: String,
    /// Sampling interval (default 15s); one more sample is taken at the run's end.
    pub every: Option<String>,
    /// `fail` (default: an unreachable Prometheus breaches) or `skip`.
    pub on_error: Option<String>,
}

/// A timed action during a run, its optional undo, and what must hold around it.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDrill {
    pub name: String,
    /// Offset from the run's start, e.g. `3m`.
    pub at: String,
    pub action: RawDrillAction,
    /// Fired at `at + duration`.
    pub undo: Option<RawDrillAction>,
    /// How long the fault lasts (needed with `undo`).
    pub duration: Option<String>,
    #[serde(default)]
    pub expect: RawDrillExpect,
}

/// An HTTP request (`url`, optional `method`, `body`, `headers`) or a `command`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDrillAction {
    /// Default POST.
    pub method: Option<String>,
    /// Absolute http(s) URL (its host must be in safety.allowed_hosts when that list is set).
    pub url: Option<String>,
    pub body: Option<RawBody>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Program and arguments; needs `safety.allow_commands: true`.
    pub command: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDrillExpect {
    pub recovery: Option<RawRecovery>,
    /// Most failed requests between the action and the undo (or the run's end).
    pub max_errors_during: Option<i64>,
}

/// Recovery: from the action to the first 1 s window from which the metric stays below `below`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRecovery {
    /// Only `http_req_failed` (default).
    pub metric: Option<String>,
    pub below: f64,
    pub within: String,
}
