//! Drop guards that keep the promise "every started request ends as a sample".
//!
//! At the run's hard stop (the end of `graceful_stop`, an abort, the daemon's shutdown timeout)
//! the drivers drop the iteration futures still running. A request on the wire then has no
//! outcome to record, so its guard records one: a failure `interrupted` lasting from its
//! (intended) start until the stop. Its iteration's guard counts it as interrupted.

use crate::client::FailureReason;
use crate::record::Recorder;
use std::time::Instant;

/// A request on the wire: if its future is dropped before the outcome (the run's hard stop),
/// it still ends as a sample, a failure `interrupted` lasting from its (intended) start until now.
pub(super) struct InFlight<'a> {
    pub recorder: &'a Recorder,
    pub vu: u32,
    pub request: usize,
    pub checks: usize,
    pub from: Instant,
    pub armed: bool,
}

impl InFlight<'_> {
    /// The request's outcome came: disarmed, and a re-send (`retried`) counted.
    pub fn landed(&mut self, retried: Option<&'static str>) {
        self.armed = false;
        if let Some(reason) = retried {
            self.recorder.retry(self.request, reason);
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.armed {
            let checks = vec![false; self.checks];
            self.recorder.request(
                self.vu,
                self.request,
                None,
                self.from.elapsed(),
                Some(FailureReason::Interrupted),
                &checks,
            );
        }
    }
}

/// An iteration under way: dropped before its end, it counts as interrupted.
pub(super) struct Cut<'a> {
    pub recorder: &'a Recorder,
    pub armed: bool,
}

impl Drop for Cut<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.recorder.interrupted_iteration();
        }
    }
}
