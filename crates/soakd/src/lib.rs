//! soakd's engine: continuous synthetic load that speaks Prometheus, as a library.
//!
//! Data flows one way: `config → plan → schedule → run (load, action, client) → record →
//! verdict → state → report / telemetry`. A module imports only from its left; `app` wires
//! them together into the daemon. The command line (`cli`, the commands, `main`) is the
//! `soakd-cli` package at the repository's root; the demo target is `crates/testbed`.

pub mod action;
pub mod app;
pub mod client;
pub mod config;
pub mod load;
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
