//! Raw config of the always-on safety features: circuit breaker, blackout windows and the
//! statistical baseline. Kept apart from `mod.rs` so these keys read as one feature.

use schemars::JsonSchema;
use serde::Deserialize;

/// `circuit_breaker: { error_rate: 0.5, p95: 5s, window: 30s, cooldown: 5m }`: stop a run
/// whose target is failing and hold the scenario for a cooldown (doubling on each trip).
#[derive(Debug, Default, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCircuitBreaker {
    /// Trip when the failed share of requests over the window reaches this ratio (0..1).
    pub error_rate: Option<f64>,
    /// Trip when the p95 latency over the window reaches this duration, e.g. `5s`.
    pub p95: Option<String>,
    /// The sliding window the rates are judged over (default 30s).
    pub window: Option<String>,
    /// How long the scenario is held after a trip (default 5m); doubles per trip in a row.
    pub cooldown: Option<String>,
    /// Cap of the doubled cooldown (default 1h, at least `cooldown`).
    pub max_cooldown: Option<String>,
    /// Requests the window needs before it is judged (default 20).
    pub min_requests: Option<i64>,
}

/// A recurring window (deploys, freezes) during which no run starts and running ones stop.
#[derive(Debug, Default, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBlackout {
    /// When the window opens: 5-field cron (or 6 with seconds), e.g. `0 14 * * 2`.
    pub cron: String,
    /// How long it stays open, e.g. `1h`.
    pub duration: String,
    /// IANA timezone of the cron expression (default UTC).
    pub timezone: Option<String>,
}
