//! What the run drivers are given instead of reaching for the time and the target themselves:
//! a [`Clock`] (when is now, sleep until then, deliver intended starts) and the work of one
//! iteration ([`Iterate`]). Production passes `run::pacer::SystemClock` and the `Actor`; the
//! driver tests pass [`TokioClock`] on paused time (`tokio::time::pause`) and a fake iteration,
//! and assert exact counts at exact instants.

use super::Arrivals;
use std::future::Future;
use std::time::{Duration, Instant};

/// The time source of a driver.
pub trait Clock: Send + Sync {
    /// The intended starts of one open model, in order.
    type Starts: Starts;
    fn now(&self) -> Instant;
    fn sleep_until(&self, at: Instant) -> impl Future<Output = ()> + Send;
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send {
        self.sleep_until(self.now() + d)
    }
    /// Time since the Unix epoch (the grid sharded replicas start on).
    fn unix_now(&self) -> Duration;
    /// Delivers each of `arrivals`' starts (from `start`) once it is due; `peak_rate` (per
    /// second) lets a clock pick how (a precise OS-thread pacer suits some rates only).
    fn starts(&self, arrivals: Box<dyn Arrivals>, start: Instant, peak_rate: f64) -> Self::Starts;
}

/// A stream of intended starts.
pub trait Starts: Send {
    /// The next intended start, once it is due; None when the arrivals are done.
    fn next(&mut self) -> impl Future<Output = Option<Instant>> + Send;
}

/// tokio's timer: 1 ms resolution (deadlines round up), and it follows `tokio::time::pause`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    type Starts = TimerStarts;
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
    async fn sleep_until(&self, at: Instant) {
        tokio::time::sleep_until(at.into()).await
    }
    fn unix_now(&self) -> Duration {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    }
    fn starts(&self, arrivals: Box<dyn Arrivals>, start: Instant, _: f64) -> TimerStarts {
        TimerStarts { arrivals, start }
    }
}

/// Intended starts released by tokio's timer: one tick releases a whole batch of due starts.
pub struct TimerStarts {
    arrivals: Box<dyn Arrivals>,
    start: Instant,
}

impl TimerStarts {
    pub fn new(arrivals: Box<dyn Arrivals>, start: Instant) -> Self {
        TimerStarts { arrivals, start }
    }
}

impl Starts for TimerStarts {
    async fn next(&mut self) -> Option<Instant> {
        let at = self.start + self.arrivals.next_offset()?;
        if at > TokioClock.now() {
            tokio::time::sleep_until(at.into()).await;
        }
        Some(at)
    }
}

/// The work a driver runs: one iteration of a VU, and the count of iterations dropped.
pub trait Iterate: Send + Sync + 'static {
    /// A virtual user's own state, carried between its iterations.
    type Vu: Send + 'static;
    fn vu(&self, id: u32) -> Self::Vu;
    /// One iteration; `intended` is the open model's intended start (None in closed models).
    fn iteration(
        &self,
        vu: &mut Self::Vu,
        intended: Option<Instant>,
    ) -> impl Future<Output = ()> + Send;
    /// An iteration that was due and never started (no free VU, or the budget's time ran out).
    fn dropped(&self);
}
