//! soakd: continuous synthetic load that speaks Prometheus.
//!
//! Data flows one way: `config → plan → schedule → run (load, action, client) → record →
//! verdict → state → report / telemetry`. A module imports only from its left; `app` wires
//! them together.

pub mod client;
pub mod config;
pub mod load;
pub mod plan;
pub mod record;
pub mod state;
pub mod target;
pub mod verdict;
