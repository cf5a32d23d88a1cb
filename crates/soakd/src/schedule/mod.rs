//! Triggers: turn a scenario's schedule into runs.
//!
//! One task per scheduled scenario. `continuous` starts the next run as soon as the previous
//! one ends. `cron` computes each fire time itself, in the scenario's IANA timezone (DST-correct,
//! see `plan::schedule`), and arms a one-shot job in tokio-cron-scheduler's `JobScheduler` for
//! it. That keeps the crate's timer and job bookkeeping while avoiding its gaps: it would keep
//! a fixed UTC offset (wrong after a DST change), collapse missed fires silently, and start a
//! run on top of one still going. Here a fire during a run is skipped and counted
//! (`overlap`), and fires missed while the process was stalled are counted (`missed`). A fire
//! while the scenario is held is skipped and counted too (`paused`, `blackout`, `circuit_open`).

use crate::plan::Schedule;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::sync::CancellationToken;

/// Why a fire did not start a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// The scenario's previous run is still going.
    Overlap,
    /// `max_concurrent_runs` runs are active.
    MaxConcurrent,
    /// The scenario left the config or the daemon is stopping.
    Gone,
    /// Paused through the API (`/pause`, `/pause_all`).
    Paused,
    /// Inside a blackout window (`safety.blackouts`, `blackouts`).
    Blackout,
    /// The circuit breaker tripped and the scenario is held for its cooldown.
    CircuitOpen,
}

impl Skip {
    /// A hold lasts (pause, blackout, open circuit), unlike a momentary conflict.
    pub fn is_hold(self) -> bool {
        matches!(self, Skip::Paused | Skip::Blackout | Skip::CircuitOpen)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Skip::Overlap => "overlap",
            Skip::MaxConcurrent => "max_concurrent",
            Skip::Gone => "gone",
            Skip::Paused => "paused",
            Skip::Blackout => "blackout",
            Skip::CircuitOpen => "circuit_open",
        }
    }
}

/// What a trigger needs from the daemon.
pub trait Runner: Send + Sync + 'static {
    /// Starts a run now; the receiver resolves when it ends, true if it ended in `error` or
    /// `aborted`.
    fn start(&self, scenario: &str) -> Result<oneshot::Receiver<bool>, Skip>;
    fn skipped(&self, scenario: &str, reason: &str);
    fn next_fire(&self, scenario: &str, at: Option<DateTime<Utc>>);
}

/// Spawns the trigger of one scenario; it ends when `stop` is cancelled.
pub fn spawn(
    name: String,
    schedule: Schedule,
    runner: Arc<dyn Runner>,
    cron: JobScheduler,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        match schedule {
            Schedule::Manual => runner.next_fire(&name, None),
            Schedule::Continuous => continuous(&name, runner.as_ref(), &stop).await,
            Schedule::Cron { .. } => {
                cron_loop(&name, &schedule, runner.as_ref(), &cron, &stop).await
            }
        }
    })
}

/// Longest pause of a continuous scenario after runs that end in `error` or `aborted` (the
/// pause doubles from 1 s with each such run in a row, and resets after a judged run).
pub const MAX_CONTINUOUS_BACKOFF: Duration = Duration::from_secs(60);

/// Back to back runs. A held scenario (paused, blackout, open circuit) is retried every second
/// and its skip counted once per hold, not once per retry; after a run that ends in `error` or
/// `aborted` the next one waits (backoff).
async fn continuous(name: &str, runner: &dyn Runner, stop: &CancellationToken) {
    runner.next_fire(name, None);
    let mut held: Option<Skip> = None;
    let mut backoff = Duration::ZERO;
    while !stop.is_cancelled() {
        match runner.start(name) {
            Ok(done) => {
                held = None;
                if done.await.unwrap_or(false) {
                    backoff = (backoff * 2).clamp(Duration::from_secs(1), MAX_CONTINUOUS_BACKOFF);
                    tracing::warn!(scenario = name, pause = %humantime::format_duration(backoff), "run ended in error or aborted; pausing before the next");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stop.cancelled() => return,
                    }
                } else {
                    backoff = Duration::ZERO;
                }
            }
            Err(Skip::Gone) => return,
            Err(reason) => {
                if held != Some(reason) || !reason.is_hold() {
                    runner.skipped(name, reason.as_str());
                }
                held = Some(reason);
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.cancelled() => return,
                }
            }
        }
    }
}

async fn cron_loop(
    name: &str,
    schedule: &Schedule,
    runner: &dyn Runner,
    cron: &JobScheduler,
    stop: &CancellationToken,
) {
    let mut after = whole_second(Utc::now());
    while let Some(fire) = schedule.next_after(after) {
        runner.next_fire(name, Some(fire));
        if !wait_until(fire, cron, stop).await {
            return;
        }
        // Fires that passed while we were not running (suspend, stall) are counted, not replayed.
        let now = Utc::now();
        let mut missed = 0;
        let mut t = fire;
        while let Some(n) = schedule.next_after(t) {
            if n > now - chrono::Duration::seconds(1) {
                break;
            }
            missed += 1;
            t = n;
        }
        for _ in 0..missed {
            runner.skipped(name, "missed");
        }
        match runner.start(name) {
            Ok(_) => {}
            Err(Skip::Gone) => return,
            Err(reason) => runner.skipped(name, reason.as_str()),
        }
        after = t.max(fire);
    }
}

/// `t` without its fraction of a second. The cron library keeps the sub-second part of the
/// instant it searches from, so a search from "now" would fire at e.g. 05:00:00.189.
pub fn whole_second(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::{DurationRound, TimeDelta};
    t.duration_trunc(TimeDelta::seconds(1)).unwrap_or(t)
}

/// Sleeps until `at` with a one-shot job; false if stopped first.
async fn wait_until(at: DateTime<Utc>, cron: &JobScheduler, stop: &CancellationToken) -> bool {
    let delay = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    let (tx, rx) = oneshot::channel::<()>();
    let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
    let job = Job::new_one_shot_async(delay, move |_, _| {
        let tx = tx.clone();
        Box::pin(async move {
            if let Some(tx) = tx.lock().ok().and_then(|mut t| t.take()) {
                let _ = tx.send(());
            }
        })
    });
    let id = match job {
        Ok(job) => cron.add(job).await.ok(),
        Err(_) => None,
    };
    let fired = match id {
        // The scheduler ticks about twice a second; finish the last stretch precisely.
        Some(_) => tokio::select! {
            r = rx => r.is_ok(),
            _ = stop.cancelled() => false,
        },
        None => tokio::select! {
            _ = tokio::time::sleep(delay) => true,
            _ = stop.cancelled() => false,
        },
    };
    if let Some(id) = id
        && !fired
    {
        let _ = cron.remove(&id).await;
    }
    if fired {
        let rest = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::time::sleep(rest).await;
    }
    fired
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Every run ends at once, in `error` when `hard`.
    struct Instant(AtomicU32, bool);

    impl Runner for Instant {
        fn start(&self, _: &str) -> Result<oneshot::Receiver<bool>, Skip> {
            self.0.fetch_add(1, Ordering::SeqCst);
            let (tx, rx) = oneshot::channel();
            let _ = tx.send(self.1);
            Ok(rx)
        }
        fn skipped(&self, _: &str, _: &str) {}
        fn next_fire(&self, _: &str, _: Option<DateTime<Utc>>) {}
    }

    #[tokio::test]
    async fn a_continuous_scenario_backs_off_after_runs_that_end_in_error() {
        let runner = Arc::new(Instant(AtomicU32::new(0), true));
        let stop = CancellationToken::new();
        let (r, s) = (runner.clone(), stop.clone());
        let task = tokio::spawn(async move { continuous("c", r.as_ref(), &s).await });
        // Pauses of 1 s then 2 s: starts at 0, 1 and 3 s; without the pause, thousands.
        tokio::time::sleep(Duration::from_millis(3500)).await;
        stop.cancel();
        let _ = task.await;
        let starts = runner.0.load(Ordering::SeqCst);
        assert!((2..=4).contains(&starts), "{starts} starts in 3.5 s");
    }
}
