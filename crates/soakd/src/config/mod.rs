//! Raw config types: a mirror of the YAML file, no logic.
//!
//! These types exist so that serde and the JSON Schema see exactly what users write. Nothing
//! here is trusted: durations, cron strings, thresholds and URLs stay strings and numbers stay
//! signed, so that `plan::compile` can report every mistake at once, quoting the bad value.
//! Engine code never sees these types, only the `Plan` built from them.

mod always_on;
mod env;
mod load;
mod load_shape;
mod sut;
pub mod yaml;

pub use always_on::{RawBlackout, RawCircuitBreaker};
pub use load::{Bounded, ConfigError, LoadError, Loaded, load_file, load_str, read_bounded};
pub use sut::{RawDrill, RawDrillAction, RawDrillExpect, RawPrometheus, RawRecovery, RawSutCheck};

use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The whole file.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    /// Directory for durable state (breach counts); survives restarts.
    pub state_dir: Option<String>,
    #[serde(default)]
    pub results: RawResults,
    #[serde(default)]
    pub safety: RawSafety,
    #[serde(default)]
    pub defaults: RawDefaults,
    /// How many scenario runs may be active at once (default: unbounded).
    pub max_concurrent_runs: Option<i64>,
    /// How long in-flight requests may finish on SIGTERM (default 20s).
    pub shutdown_timeout: Option<String>,
    /// Data pools for templates (`data.POOL.FIELD`): JSON arrays or CSV files.
    #[serde(default)]
    pub data: BTreeMap<String, RawPool>,
    #[serde(default)]
    pub scenarios: BTreeMap<String, RawScenario>,
    /// The Prometheus that `sut_checks` query.
    pub prometheus: Option<RawPrometheus>,
}

/// A data pool: rows from a JSON array of objects or a CSV file with a header line.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    /// Path, relative to the config file.
    pub file: String,
    /// `per_vu` (default), `round_robin`, `random` or `unique`.
    pub pick: Option<String>,
    /// For `unique`: `stop` (default) ends the run when every row was used, `wrap` starts over.
    pub on_exhausted: Option<String>,
    /// Every value of the pool is a secret: never logged or exported.
    #[serde(default)]
    pub secret: bool,
    /// Fields whose values are secrets.
    #[serde(default)]
    pub secret_fields: Vec<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    /// Address of /metrics and the API, e.g. "0.0.0.0:9464".
    pub listen: Option<String>,
    /// File holding the admin bearer token; enables the write API.
    pub admin_token_file: Option<String>,
    /// How users reach this daemon, e.g. "https://soakd.staging.example.com": alerts link run
    /// reports under it (soakd_run_last_info report_url).
    pub external_url: Option<String>,
    /// Grafana's base URL, e.g. "https://grafana.example.com": alerts link the scenario dashboard.
    pub grafana_url: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawResults {
    pub dir: Option<String>,
    /// How long run summaries are kept, e.g. "180d".
    pub retention: Option<String>,
    /// Summary formats written per run: `soakd` (always; the API reads it) and optionally `k6`
    /// (k6's `--summary-export` JSON beside it, `<scenario>-<run id>.k6.json`).
    pub format: Option<Vec<String>>,
    /// Also upload every summary and report to an S3-compatible bucket.
    pub object_store: Option<RawObjectStore>,
}

/// `results.object_store`: where summaries and reports are copied after they are written
/// locally. Credentials come from files (Kubernetes Secret mounts) or, without them, from the
/// standard AWS environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, web identity, ...).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawObjectStore {
    /// `s3://bucket/prefix`.
    pub url: Option<String>,
    /// An S3-compatible endpoint (MinIO, Ceph, a test server), e.g. `http://minio:9000`;
    /// default AWS's regional endpoint.
    pub endpoint: Option<String>,
    /// Default `AWS_REGION` / `AWS_DEFAULT_REGION`, else `us-east-1`.
    pub region: Option<String>,
    pub access_key_id_file: Option<String>,
    pub secret_access_key_file: Option<String>,
    pub session_token_file: Option<String>,
    /// How long uploaded results are kept in the bucket; default `results.retention`.
    pub retention: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSafety {
    /// Hosts scenarios may target; empty means any.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Upper bound of the summed request rates of all scenarios.
    pub max_rps: Option<f64>,
    /// Most Prometheus series one scenario may create (default 20000); a config that could
    /// exceed it is rejected.
    pub max_series_per_scenario: Option<i64>,
    /// Drills may run local commands (default false: refused at check time).
    #[serde(default)]
    pub allow_commands: bool,
    /// Windows during which no scenario starts a run (running ones stop gracefully).
    #[serde(default)]
    pub blackouts: Vec<RawBlackout>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    /// Per-request timeout, e.g. "10s".
    pub timeout: Option<String>,
    /// Headers added to every request (templates allowed).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The circuit breaker of every scenario that does not set its own.
    pub circuit_breaker: Option<RawCircuitBreaker>,
    /// Trace context sent with each request (issue 15): `{ propagate: w3c | none, sample: 1.0 }`.
    pub trace: Option<RawTrace>,
}

/// `defaults.trace`: a W3C `traceparent` on each request (on by default), its trace id kept as
/// the exemplar of the latency bucket the request lands in.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTrace {
    /// `w3c` (default) or `none`.
    pub propagate: Option<String>,
    /// Fraction of requests that carry a traceparent, 0..=1 (default 1).
    pub sample: Option<f64>,
    /// Response header kept as the request id of the summary's slowest and failed requests
    /// (default `X-Request-Id`).
    pub request_id_header: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// `manual` (default), `{ cron, timezone }` or `{ continuous: true }`.
    pub schedule: Option<RawSchedule>,
    pub target: Option<RawTarget>,
    pub load: Option<RawLoad>,
    #[serde(default)]
    pub mix: Vec<RawMixEntry>,
    /// k6 thresholds: metric key (with optional `{tag:value}` filter) → expressions.
    #[serde(default)]
    pub thresholds: BTreeMap<String, Vec<RawThresholdExpr>>,
    pub incident: Option<RawIncident>,
    /// Compare each run with an earlier one; a regression beyond the limit is a breach.
    pub baseline: Option<RawBaseline>,
    /// PromQL checks on the system under test, judged like thresholds (`sut:NAME:EXPR`).
    #[serde(default)]
    pub sut_checks: Vec<RawSutCheck>,
    /// Timed chaos actions during a run, with expectations judged as thresholds.
    #[serde(default)]
    pub drills: Vec<RawDrill>,
    /// Stop runs of a failing target and hold the scenario (overrides defaults.circuit_breaker).
    pub circuit_breaker: Option<RawCircuitBreaker>,
    /// Windows during which this scenario starts no run (besides safety.blackouts).
    #[serde(default)]
    pub blackouts: Vec<RawBlackout>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawSchedule {
    /// Only the word `manual`.
    Word(String),
    Cron(RawCron),
    Continuous(RawContinuous),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCron {
    /// 5-field (`0 5 * * *`) or 6-field with seconds.
    pub cron: String,
    /// IANA name, default UTC.
    pub timezone: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawContinuous {
    pub continuous: bool,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub base_url: Option<String>,
    /// Accept any TLS certificate (staging with self-signed certs).
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// HTTP/2 with prior knowledge over plain TCP.
    #[serde(default)]
    pub h2c: bool,
    /// Cap on a response body (default 10 MiB).
    pub max_body_bytes: Option<i64>,
    /// Request timeout for this scenario (overrides defaults.timeout).
    pub timeout: Option<String>,
    /// Re-send an idempotent request once on a fresh connection when a reused keep-alive
    /// connection was closed or reset under it (default true; every re-send is counted in
    /// `soakd_http_request_retries_total`). false: the first failure is the result.
    pub retry_on_reused_connection: Option<bool>,
}

/// k6 executors, tagged by `executor`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "executor", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RawLoad {
    ConstantVus {
        /// Default 1, like k6.
        vus: Option<i64>,
        duration: String,
        #[serde(default, deserialize_with = "millis_or_text")]
        #[schemars(with = "Option<RawGrace>")]
        graceful_stop: Option<String>,
    },
    RampingVus {
        #[serde(default)]
        start_vus: i64,
        stages: Vec<RawStage>,
        #[serde(default, deserialize_with = "millis_or_text")]
        #[schemars(with = "Option<RawGrace>")]
        graceful_ramp_down: Option<String>,
        #[serde(default, deserialize_with = "millis_or_text")]
        #[schemars(with = "Option<RawGrace>")]
        graceful_stop: Option<String>,
    },
    ConstantArrivalRate {
        rate: f64,
        time_unit: Option<String>,
        /// What `rate` counts: `iterations` (k6, default) or `requests` (the rate of HTTP
        /// requests, whatever the journeys' lengths).
        rate_of: Option<String>,
        duration: String,
        pre_allocated_vus: i64,
        max_vus: Option<i64>,
        #[serde(default, deserialize_with = "millis_or_text")]
        #[schemars(with = "Option<RawGrace>")]
        graceful_stop: Option<String>,
    },
    RampingArrivalRate {
        #[serde(default)]
        start_rate: f64,
        time_unit: Option<String>,
        /// What the rates count: `iterations` (default) or `requests`.
        rate_of: Option<String>,
        stages: Vec<RawStage>,
        pre_allocated_vus: i64,
        max_vus: Option<i64>,
        #[serde(default, deserialize_with = "millis_or_text")]
        #[schemars(with = "Option<RawGrace>")]
        graceful_stop: Option<String>,
    },
    PerVuIterations {
        /// Default 1 VU and 1 iteration, like k6.
        vus: Option<i64>,
        iterations: Option<i64>,
        max_duration: Option<String>,
        #[serde(default, deserialize_with = "millis_or_text")]
        #[schemars(with = "Option<RawGrace>")]
        graceful_stop: Option<String>,
    },
    SharedIterations {
        /// Default 1 VU and 1 iteration, like k6.
        vus: Option<i64>,
        iterations: Option<i64>,
        max_duration: Option<String>,
        #[serde(default, deserialize_with = "millis_or_text")]
        #[schemars(with = "Option<RawGrace>")]
        graceful_stop: Option<String>,
    },
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStage {
    pub duration: String,
    pub target: f64,
    /// Names the stage for thresholds judged on it alone: `http_req_duration{stage:peak}`.
    pub name: Option<String>,
}

/// One entry of the weighted mix: a single request, or a journey of `steps`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMixEntry {
    pub name: String,
    pub weight: Option<f64>,
    pub group: Option<String>,
    pub request: Option<RawRequest>,
    #[serde(default)]
    pub checks: Vec<RawCheck>,
    #[serde(default)]
    pub steps: Vec<RawStep>,
    /// A WebSocket session instead of a request.
    pub websocket: Option<RawWebSocket>,
    /// Values taken from the response, usable later as `var.NAME`.
    #[serde(default)]
    pub extract: BTreeMap<String, RawExtract>,
    /// Follow cursors: repeat the request with `?param=<cursor>` while the response has one.
    pub paginate: Option<RawPaginate>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    /// Name of this request (defaults to `<entry>_<index>`).
    pub name: Option<String>,
    pub group: Option<String>,
    pub request: Option<RawRequest>,
    #[serde(default)]
    pub checks: Vec<RawCheck>,
    /// Pause, fixed (`1s`) or uniform range (`1s..3s`).
    pub think: Option<String>,
    /// A WebSocket session instead of a request.
    pub websocket: Option<RawWebSocket>,
    /// Values taken from the response, usable later as `var.NAME`.
    #[serde(default)]
    pub extract: BTreeMap<String, RawExtract>,
    /// Follow cursors: repeat the request with `?param=<cursor>` while the response has one.
    pub paginate: Option<RawPaginate>,
}

/// A WebSocket session: connect, send JSON messages at a pace, match the replies.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWebSocket {
    /// `ws://` or `wss://` URL, or a path relative to target.base_url. Template.
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub subprotocol: Option<String>,
    /// How long a session lasts, e.g. `30s`.
    pub duration: String,
    /// Pause between messages a VU sends, e.g. `12s` (5 per minute); none = listen only.
    pub send_every: Option<String>,
    /// JSON object sent each time (string values are templates); soakd adds a fresh id.
    pub message: Option<serde_json::Value>,
    /// Field that carries the correlation id in sent and received messages (default `id`).
    pub id_field: Option<String>,
    /// How long a sent message may wait for its echo before it counts as lost (default 5s).
    pub reply_timeout: Option<String>,
    /// Reconnect after a dropped connection, within the session (default true).
    pub reconnect: Option<bool>,
}

/// Where an extracted value comes from; exactly one.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExtract {
    /// JSON path into the response body, e.g. `$.next_cursor`.
    pub json: Option<String>,
    /// A response header name.
    pub header: Option<String>,
    /// A regular expression on the body; the first capture group (or the whole match).
    pub regex: Option<String>,
    /// The response status code.
    #[serde(default)]
    pub status: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPaginate {
    /// JSON path of the next cursor in the response.
    pub next: String,
    /// Query parameter that carries the cursor (default `cursor`).
    pub param: Option<String>,
    /// Most pages per iteration, the first included.
    pub max_pages: i64,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRequest {
    /// Default GET.
    pub method: Option<String>,
    /// Relative to target.base_url, or absolute. Template.
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Option<RawBody>,
    pub timeout: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBody {
    /// Sent as application/json; string values are templates.
    pub json: Option<serde_json::Value>,
    /// Sent as text/plain unless a content-type header is given. Template.
    pub text: Option<String>,
}

/// One check; exactly one kind per entry.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    /// Label of the check in metrics and summaries (default derived from the kind).
    pub name: Option<String>,
    pub status: Option<Vec<i64>>,
    pub body_contains: Option<String>,
    pub json: Option<RawJsonCheck>,
    pub header: Option<RawHeaderCheck>,
    pub max_duration: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawJsonCheck {
    pub path: String,
    pub exists: Option<bool>,
    pub equals: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHeaderCheck {
    pub name: String,
    /// Regular expression the header value must match.
    pub matches: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawThresholdExpr {
    Plain(String),
    Full(RawThresholdFull),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawThresholdFull {
    pub threshold: String,
    #[serde(default)]
    pub abort_on_fail: bool,
    pub delay_abort_eval: Option<String>,
    /// Judge every sliding window of this length (e.g. `1m`) instead of the whole run; the
    /// worst window decides, and its value is exported live while the run goes.
    pub window: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBaseline {
    /// `last_pass` (the newest passing run of the scenario).
    pub compare_to: Option<String>,
    /// Allowed regression, e.g. `10%` or `10` (default 10%).
    pub max_regression: Option<serde_json::Value>,
    /// Statistical baseline: `last_N_passing` (e.g. `last_10_passing`) pools that many recent
    /// passing runs and tests the run against them instead of the raw delta.
    pub against: Option<String>,
    /// `mann_whitney` (latency distribution; the error rate takes a two-proportion test).
    pub test: Option<String>,
    /// Significance level of the tests (default 0.01).
    pub alpha: Option<f64>,
    /// Noise floor: smallest relative effect that counts, e.g. `5%` (default 5%).
    pub min_effect: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawIncident {
    /// Breached runs in a row that open an incident (default 2).
    pub consecutive_breaches: Option<i64>,
}

/// The JSON Schema of the config file, derived from the raw types.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RawConfig)).unwrap_or_default()
}

/// A grace period as written: a duration (`30s`) or, as in k6, a bare number of milliseconds.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawGrace {
    Text(String),
    Millis(f64),
}

/// Reads a [`RawGrace`] into the text the plan parses (`1500` stays `"1500"`: milliseconds).
fn millis_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<RawGrace>::deserialize(d)?.map(|g| match g {
        RawGrace::Text(s) => s,
        RawGrace::Millis(ms) => ms.to_string(),
    }))
}
