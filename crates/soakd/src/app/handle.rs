//! The daemon as the HTTP routes see it: `App` behind the server's narrow traits. The server
//! holds an `Arc<dyn server::Daemon>` and never names `App`.

use super::App;
use crate::plan::Plan;
use crate::run::RunControl;
use crate::schedule::Skip;
use crate::server::{DaemonControl, DaemonView, HoldView};
use crate::state::{ResultsStore, RunIndexEntry, StateError};
use crate::telemetry::Metrics;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

impl DaemonView for App {
    fn plan(&self) -> Arc<Plan> {
        App::plan(self)
    }
    fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }
    fn shutdown(&self) -> CancellationToken {
        self.shutdown.clone()
    }
    fn active_run(&self, scenario: &str) -> Option<Arc<RunControl>> {
        App::active_run(self, scenario)
    }
    fn active_runs(&self) -> Vec<Arc<RunControl>> {
        App::active_runs(self)
    }
    fn last_run(&self, scenario: &str) -> Option<RunIndexEntry> {
        App::last_run(self, scenario)
    }
    fn incidents(&self, scenario: &str) -> Vec<(String, u32)> {
        App::incidents(self, scenario)
    }
    fn hold_view(&self, scenario: &str) -> HoldView {
        App::hold_view(self, scenario)
    }
    fn results(&self) -> ResultsStore {
        self.results.clone()
    }
}

impl DaemonControl for App {
    fn admin_token(&self) -> Option<String> {
        App::admin_token(self)
    }
    fn start_run(&self, scenario: &str) -> Result<String, Skip> {
        self.start_checked(scenario).map(|(id, _)| id)
    }
    fn abort_run(&self, run_id: &str) -> bool {
        App::abort_run(self, run_id)
    }
    fn set_paused(&self, scenario: Option<&str>, paused: bool) -> Result<(), StateError> {
        if paused {
            self.pause(scenario)
        } else {
            self.resume(scenario)
        }
    }
    fn reload(&self) -> bool {
        App::reload(self)
    }
}
