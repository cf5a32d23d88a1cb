//! Verdicts: thresholds evaluated against one run's exact numbers.
//!
//! A run passes or fails on its own samples alone (DESIGN §4), read from the recorder's exact
//! per-run HdrHistograms and counters, never from Prometheus' bucketed families. This module is
//! pure: it sees the run only through [`RunNumbers`], so it is tested with a fake and knows
//! nothing about how the recorder queues or aggregates.

mod evaluate;
pub mod regression;

pub use crate::record::RunNumbers;
pub use evaluate::{evaluate, evaluate_all, should_abort};

/// One threshold's verdict for one run: the row of the summary's `thresholds` list and the
/// source of the `soakd_threshold_*` gauges.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Outcome {
    /// The threshold's canonical label, `METRIC{TAGS}:EXPR`.
    pub threshold: String,
    /// The aggregated value (milliseconds for durations); None = no data.
    pub observed: Option<f64>,
    pub limit: f64,
    pub breached: bool,
}
