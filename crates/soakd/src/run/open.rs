//! Driver of open models (constant-arrival-rate, ramping-arrival-rate): the pacer.
//!
//! Iterations start at their intended times whatever the target does. Each takes a free VU
//! from the pool (growing it up to `max_vus`); when none is free the iteration is dropped and
//! counted, never queued. The intended start is handed to the action, so latency includes any
//! delay the generator or a slow target caused (no coordinated omission). Like k6, the model
//! lasts its whole duration even when its last arrival is earlier (a ramp down to 0). The
//! intended starts come from the clock (`load::Clock`): in production the pacer thread
//! (`pacer.rs`) up to 1000/s, which keeps them precise, and tokio's timer above that.
//!
//! A sharded replica's run starts on a wall-clock grid (`OpenModel::grid`) shared by every
//! replica: its phase-shifted arrivals (`Scenario::arrival_phase`) then fall between the other
//! replicas' ones whatever moment each replica's trigger fired, like k6 execution segments.

use crate::load::{Clock, Iterate, OpenModel, Starts};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long until the next multiple of `period` of Unix time (`now`).
fn until_grid(period: Duration, now: Duration) -> Duration {
    let p = period.as_secs_f64();
    let now = now.as_secs_f64();
    if p <= 0.0 {
        return Duration::ZERO;
    }
    let rest = p - now.rem_euclid(p);
    Duration::from_secs_f64(if rest >= p { 0.0 } else { rest })
}

#[allow(clippy::too_many_arguments)]
pub async fn drive<C: Clock, W: Iterate>(
    clock: &C,
    actor: Arc<W>,
    load: OpenModel,
    // A sharded replica starts on the model's wall-clock grid.
    sharded: bool,
    graceful_stop: Duration,
    stop: &CancellationToken,
    // Cancelled at the hard stop: the end of `graceful_stop`, or the daemon's shutdown timeout.
    hard: CancellationToken,
    busy: &Arc<AtomicU32>,
) {
    let OpenModel {
        arrivals,
        duration,
        pre_allocated_vus: pre_allocated,
        max_vus,
        peak_rate,
        grid,
    } = load;
    let pool: Arc<Mutex<Vec<W::Vu>>> = Arc::new(Mutex::new(
        (0..pre_allocated).rev().map(|id| actor.vu(id)).collect(),
    ));
    let mut allocated = pre_allocated;
    let tracker = TaskTracker::new();
    let grid_wait = if sharded {
        until_grid(grid, clock.unix_now())
    } else {
        Duration::ZERO
    };
    let start = clock.now() + grid_wait;
    let mut starts = clock.starts(arrivals, start, peak_rate);
    loop {
        let at = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            at = starts.next() => match at {
                Some(at) => at,
                None => break,
            },
        };
        let free = pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let vu = match free {
            Some(vu) => vu,
            None if allocated < max_vus => {
                allocated += 1;
                actor.vu(allocated - 1)
            }
            None => {
                actor.dropped();
                continue;
            }
        };
        busy.fetch_add(1, Ordering::Relaxed);
        let (actor, pool, hard, busy) = (actor.clone(), pool.clone(), hard.clone(), busy.clone());
        tracker.spawn(async move {
            let mut vu = vu;
            tokio::select! {
                _ = actor.iteration(&mut vu, Some(at)) => {
                    pool.lock().unwrap_or_else(|p| p.into_inner()).push(vu);
                }
                _ = hard.cancelled() => {}
            }
            busy.fetch_sub(1, Ordering::Relaxed);
        });
    }
    // Like k6, the executor lasts its whole duration even when the last arrival came earlier
    // (rates per second are then over the configured time, not a shorter one).
    tokio::select! {
        _ = clock.sleep_until(start + duration) => {}
        _ = stop.cancelled() => {}
    }
    tracker.close();
    super::pacer::wait_or_cut(clock, &tracker, graceful_stop, &hard).await;
}

/// On paused time (`start_paused`): every start is at its exact intended instant, so these
/// assert exact counts and instants, where a wall-clock test could only bet on a window.
#[cfg(test)]
mod tests {
    use super::super::pacer::fake::Work;
    use super::*;
    use crate::load::{Executor, Model, Stage, TokioClock};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn open(executor: impl Into<Executor>) -> OpenModel {
        match executor.into().kind().model(0.0) {
            Model::Open(m) => m,
            _ => unreachable!("an arrival-rate executor"),
        }
    }

    fn constant(rate: f64, duration: Duration, pre: u32, max: u32) -> OpenModel {
        open(crate::load::ConstantArrivalRate {
            rate,
            duration,
            pre_allocated_vus: pre,
            max_vus: max,
        })
    }

    fn ramp(start_rate: f64, stages: &[(u64, f64)]) -> OpenModel {
        open(crate::load::RampingArrivalRate {
            start_rate,
            stages: stages
                .iter()
                .map(|&(d, target)| Stage {
                    duration: ms(d),
                    target,
                })
                .collect(),
            pre_allocated_vus: 50,
            max_vus: 200,
        })
    }

    /// Runs `load` to its end; returns the work's log and when the driver returned.
    async fn run(load: OpenModel, took: Duration, grace: Duration) -> (Arc<Work>, Duration) {
        let work = Work::new(took);
        let busy = Arc::new(AtomicU32::new(0));
        let stop = CancellationToken::new();
        let hard = CancellationToken::new();
        drive(
            &TokioClock,
            work.clone(),
            load,
            false,
            grace,
            &stop,
            hard,
            &busy,
        )
        .await;
        assert_eq!(busy.load(Ordering::Relaxed), 0, "no VU left busy");
        let ended = work.elapsed();
        (work, ended)
    }

    #[tokio::test(start_paused = true)]
    async fn constant_arrival_rate_100_per_second_for_10_seconds_starts_1000_at_their_instants() {
        let (work, ended) = run(constant(100.0, ms(10_000), 5, 10), ms(3), ms(0)).await;
        let started = work.started();
        assert_eq!(started.len(), 1000);
        for (i, (_, at, intended)) in started.iter().enumerate() {
            assert_eq!(*intended, Some(ms(10 * i as u64)), "iteration {i}");
            assert_eq!(*at, ms(10 * i as u64), "iteration {i} started late");
        }
        assert_eq!(work.completed(), 1000);
        assert_eq!(work.dropped_count(), 0);
        assert_eq!(ended, ms(10_000), "the model lasts exactly its duration");
    }

    /// k6's ramping-arrival-rate counts: the integral of the rate (0 → 100/s over 4 s: 200;
    /// 20 → 120/s over 3 s, hold 3 s, → 0 over 1 s: 210 + 360 + 60), iteration k of a ramp
    /// from 0 at √(2kT/r) (lib/executor/ramping_arrival_rate_test.go's cal arithmetic).
    #[tokio::test(start_paused = true)]
    async fn ramping_arrival_rates_start_the_integral_of_the_rate_at_its_instants() {
        let (work, ended) = run(ramp(0.0, &[(4000, 100.0)]), ms(1), ms(0)).await;
        let started = work.started();
        assert_eq!(started.len(), 200);
        for (k, (_, at, intended)) in started.iter().enumerate() {
            let due = Duration::from_secs_f64((2.0 * k as f64 * 4.0 / 100.0).sqrt());
            assert!(
                intended.unwrap().abs_diff(due) < Duration::from_micros(1),
                "{k}"
            );
            // tokio's timer (paused or not) wakes at the next whole millisecond.
            assert!(
                *at >= intended.unwrap() && *at - intended.unwrap() < ms(1),
                "{k}"
            );
        }
        assert_eq!(ended, ms(4000));
        let (work, _) = run(
            ramp(20.0, &[(3000, 120.0), (3000, 120.0), (1000, 0.0)]),
            ms(1),
            ms(0),
        )
        .await;
        assert_eq!(work.started().len(), 630);
        assert_eq!(work.dropped_count(), 0);
    }

    /// Like k6, the model lasts its whole duration even when its last arrival is earlier.
    #[tokio::test(start_paused = true)]
    async fn an_open_model_lasts_its_whole_duration_even_after_its_last_arrival() {
        // 20/s down to 0 over 2 s: 20 iterations, the last one ~1.55 s in.
        let (work, ended) = run(ramp(20.0, &[(2000, 0.0)]), ms(5), ms(0)).await;
        assert_eq!(work.completed(), 20);
        assert!(work.started()[19].1 < ms(1600));
        assert_eq!(ended, ms(2000));
    }

    /// 50/s for 2 s with at most 2 VUs and 490 ms iterations: VU 0 runs the arrivals at 0, 500,
    /// 1000, 1500 ms, VU 1 (grown on demand) those at 20, 520, 1020, 1520 ms; the other 92 find
    /// no free VU and are dropped, never queued.
    #[tokio::test(start_paused = true)]
    async fn arrivals_without_a_free_vu_are_dropped_and_counted() {
        let (work, _) = run(constant(50.0, ms(2000), 1, 2), ms(490), ms(1000)).await;
        let started: Vec<(u32, Duration)> = work
            .started()
            .iter()
            .map(|(vu, at, _)| (*vu, *at))
            .collect();
        let want: Vec<(u32, Duration)> = [0, 20, 500, 520, 1000, 1020, 1500, 1520]
            .iter()
            .enumerate()
            .map(|(i, &t)| ((i % 2) as u32, ms(t)))
            .collect();
        assert_eq!(started, want);
        assert_eq!(work.dropped_count(), 92);
        assert_eq!(work.completed() + work.dropped_count(), 100);
    }

    #[tokio::test(start_paused = true)]
    async fn an_iteration_that_outlives_graceful_stop_is_cut_at_its_end() {
        let (work, ended) = run(constant(4.0, ms(1000), 4, 4), ms(5000), ms(500)).await;
        assert_eq!(work.started().len(), 4);
        assert_eq!(work.completed(), 0, "cut, not completed");
        assert_eq!(ended, ms(1500), "duration + graceful_stop");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_the_arrivals_and_in_flight_iterations_finish_within_the_grace() {
        let work = Work::new(ms(300));
        let (busy, stop) = (Arc::new(AtomicU32::new(0)), CancellationToken::new());
        let load = constant(50.0, ms(20_000), 5, 20);
        let stopper = async {
            tokio::time::sleep(ms(1010)).await;
            stop.cancel();
        };
        let driven = drive(
            &TokioClock,
            work.clone(),
            load,
            false,
            ms(1000),
            &stop,
            CancellationToken::new(),
            &busy,
        );
        tokio::join!(driven, stopper);
        // Arrivals at 0, 20, …, 1000 ms; none after the stop at 1010 ms.
        assert_eq!(work.started().len(), 51);
        assert_eq!(work.completed(), 51, "in-flight iterations finished");
        assert_eq!(
            work.elapsed(),
            ms(1300),
            "the last one, started at 1000 ms, took 300 ms"
        );
    }

    #[test]
    fn a_sharded_start_waits_for_the_next_multiple_of_its_grid() {
        assert_eq!(until_grid(ms(100), ms(1_000_030)), ms(70));
        assert_eq!(until_grid(ms(100), ms(1_000_000)), ms(0));
    }
}
