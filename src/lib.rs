//! soakd: continuous synthetic load that speaks Prometheus.
//!
//! Data flows one way: `config → plan → schedule → run (load, action, client) → record →
//! verdict → state → report / telemetry`. A module imports only from its left; `app` wires
//! them together.

pub mod action;
pub mod app;
pub mod cli;
pub mod client;
pub mod cmd;
pub mod config;
pub mod load;
pub mod logs;
pub mod plan;
pub mod record;
pub mod redact;
pub mod report;
pub mod run;
pub mod schedule;
pub mod server;
pub mod state;
pub mod sut;
pub mod telemetry;
pub mod verdict;
