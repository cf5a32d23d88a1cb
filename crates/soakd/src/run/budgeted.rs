//! Driver of iteration-budget models (per-vu-iterations, shared-iterations).
//!
//! All VUs start at once and loop while the budget grants them iterations, for at most
//! `max_duration`; then unfinished iterations get `graceful_stop`. Iterations never started
//! because `max_duration` ran out count as `dropped_iterations`, as in k6.

use crate::load::{Budget, Clock, Iterate};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub async fn drive<C: Clock, W: Iterate>(
    clock: &C,
    actor: Arc<W>,
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
            let mut vu = actor.vu(id);
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
        _ = clock.sleep(budget.max_duration()) => true,
        _ = stop.cancelled() => false,
    };
    ended.store(true, Ordering::Relaxed);
    super::pacer::wait_or_cut(clock, &tracker, graceful_stop, &hard).await;
    if timed_out {
        // Every VU has stopped claiming: what is left of the budget was never started.
        for _ in 0..budget.unclaimed() {
            actor.dropped();
        }
    }
}

/// On paused time (`start_paused`): exact counts of a budget cut by `max_duration`.
#[cfg(test)]
mod tests {
    use super::super::pacer::fake::Work;
    use super::*;
    use crate::load::{PerVuBudget, SharedBudget, TokioClock};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    async fn run(
        budget: Box<dyn Budget>,
        grace: Duration,
        took: Duration,
    ) -> (Arc<Work>, Duration) {
        let work = Work::new(took);
        let gauge = Arc::new(AtomicU32::new(0));
        let (stop, hard) = (CancellationToken::new(), CancellationToken::new());
        drive(
            &TokioClock,
            work.clone(),
            budget,
            grace,
            &stop,
            hard,
            &gauge,
        )
        .await;
        assert_eq!(gauge.load(Ordering::Relaxed), 0);
        let ended = work.elapsed();
        (work, ended)
    }

    /// 2 VUs × 1000 iterations of 90 ms, capped at 1 s: each VU starts 12 (0, 90, …, 990 ms),
    /// the last ones finish at 1080 ms within the grace, and the 1976 never started are
    /// dropped, as in k6.
    #[tokio::test(start_paused = true)]
    async fn an_iteration_budget_stops_at_max_duration_and_drops_the_rest() {
        let (work, ended) = run(
            Box::new(PerVuBudget::new(2, 1000, ms(1000))),
            ms(500),
            ms(90),
        )
        .await;
        assert_eq!(work.completed(), 24);
        assert_eq!(work.dropped_count(), 2000 - 24);
        assert_eq!(ended, ms(1080));
    }

    #[tokio::test(start_paused = true)]
    async fn shared_iterations_run_exactly_the_iterations_whatever_the_vus() {
        let (work, ended) = run(
            Box::new(SharedBudget::new(4, 37, ms(20_000))),
            ms(500),
            ms(10),
        )
        .await;
        assert_eq!(work.completed(), 37);
        assert_eq!(work.dropped_count(), 0);
        // 37 = 4 × 9 + 1: nine rounds of 10 ms and one VU's tenth.
        assert_eq!(ended, ms(100));
    }
}
