//! Driver of iteration-budget models (per-vu-iterations, shared-iterations).
//!
//! All VUs start at once and loop while the budget grants them iterations, for at most
//! `max_duration`; then unfinished iterations get `graceful_stop`. Iterations never started
//! because `max_duration` ran out count as `dropped_iterations`, as in k6.

use crate::action::{Actor, Vu};
use crate::load::Budget;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub async fn drive(
    actor: Arc<Actor>,
    budget: Box<dyn Budget>,
    graceful_stop: Duration,
    stop: &CancellationToken,
    // Cancelled at the hard stop: the end of `graceful_stop`, or the daemon's shutdown timeout.
    hard: CancellationToken,
    vus_gauge: &Arc<AtomicU32>,
) {
    let budget: Arc<dyn Budget> = Arc::from(budget);
    let ended = Arc::new(AtomicBool::new(false));
    let tracker = TaskTracker::new();
    for id in 0..budget.vus() {
        let (actor, budget, ended, hard) =
            (actor.clone(), budget.clone(), ended.clone(), hard.clone());
        // Active from now until the VU's share is done (or it is cut).
        let active = super::Active::new(vus_gauge);
        tracker.spawn(async move {
            let _active = active;
            let mut vu = Vu::new(id);
            let hard_stop = hard.cancelled();
            tokio::pin!(hard_stop);
            while !ended.load(Ordering::Relaxed) && budget.claim(id) {
                tokio::select! {
                    biased;
                    _ = &mut hard_stop => return,
                    _ = actor.iteration(&mut vu, None) => {}
                }
            }
        });
    }
    tracker.close();
    let timed_out = tokio::select! {
        _ = tracker.wait() => return,
        _ = tokio::time::sleep(budget.max_duration()) => true,
        _ = stop.cancelled() => false,
    };
    ended.store(true, Ordering::Relaxed);
    if tokio::time::timeout(graceful_stop, tracker.wait())
        .await
        .is_err()
    {
        hard.cancel();
        tracker.wait().await;
    }
    if timed_out {
        // Every VU has stopped claiming: what is left of the budget was never started.
        for _ in 0..budget.unclaimed() {
            actor.recorder().dropped();
        }
    }
}
