//! What the HTTP routes need of the daemon, as two narrow traits: [`DaemonView`] for the read
//! routes and the status page, [`DaemonControl`] for the write routes.
//!
//! The server never sees the daemon's wiring (`app`): the wiring implements these traits and
//! hands the router an `Arc<dyn Daemon>`. Every read here is answered from memory in
//! O(scenarios) (the results index, the breach view, the holds); only the routes that read one
//! run's files (`/api/v1/runs`, `/api/v1/runs/{id}`) touch the disk, on the blocking pool.

use crate::plan::Plan;
use crate::run::RunControl;
use crate::schedule::Skip;
use crate::state::{ResultsStore, RunIndexEntry, StateError};
use crate::telemetry::Metrics;
use serde::Serialize;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// A scenario's hold as the API and the status page show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HoldView {
    pub paused: bool,
    pub blackout_until: Option<String>,
    pub circuit_open_until: Option<String>,
    pub circuit_trips: u32,
}

/// Reads: cheap, in memory, callable on an async worker.
pub trait DaemonView: Send + Sync {
    fn plan(&self) -> Arc<Plan>;
    fn metrics(&self) -> Arc<Metrics>;
    /// Cancelled when the daemon begins its graceful stop.
    fn shutdown(&self) -> CancellationToken;
    fn active_run(&self, scenario: &str) -> Option<Arc<RunControl>>;
    fn active_runs(&self) -> Vec<Arc<RunControl>>;
    /// The newest finished run of `scenario`, from the results index (no file is read).
    fn last_run(&self, scenario: &str) -> Option<RunIndexEntry>;
    /// Open incidents of `scenario`: (threshold, consecutive breaches).
    fn incidents(&self, scenario: &str) -> Vec<(String, u32)>;
    fn hold_view(&self, scenario: &str) -> HoldView;
    /// The results on disk, for the routes that read one run's summary or list many
    /// (blocking I/O: call them on the blocking pool).
    fn results(&self) -> ResultsStore;
}

/// Writes: start, abort, pause, reload. The blocking ones say so.
pub trait DaemonControl: Send + Sync {
    fn admin_token(&self) -> Option<String>;
    /// Starts a run of `scenario` now unless it is held, running or over the bound; its id.
    fn start_run(&self, scenario: &str) -> Result<String, Skip>;
    /// Aborts an active run by id; false if no such run is active.
    fn abort_run(&self, run_id: &str) -> bool;
    /// Pauses (or resumes) one scenario or, with `None`, all; persisted before it takes
    /// effect. Blocking I/O.
    fn set_paused(&self, scenario: Option<&str>, paused: bool) -> Result<(), StateError>;
    /// Reloads the config file; true when the new plan is in force. Blocking I/O.
    fn reload(&self) -> bool;
}

/// Both halves: what the router holds.
pub trait Daemon: DaemonView + DaemonControl {}

impl<T: DaemonView + DaemonControl> Daemon for T {}

/// The router's state.
pub type Handle = Arc<dyn Daemon>;
