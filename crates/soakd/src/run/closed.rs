//! Driver of closed models (constant-vus, ramping-vus): VUs loop while the profile wants them.
//!
//! A controller samples the profile every 10 ms and publishes the wanted VU count; VU `i` runs
//! iterations while `i < count`. A VU removed by a ramp-down finishes its iteration within
//! `graceful_ramp_down`; at the end every VU gets `graceful_stop` before it is interrupted.
//! The VU gauge counts the VUs actually running iterations (a removed VU still finishing its
//! iteration counts until it ends), not the profile's wish.

use super::gate::Gated;
use crate::load::{Clock, Iterate, VuProfile};
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Clone, Copy, PartialEq)]
struct Wanted {
    vus: u32,
    ended: bool,
}

#[allow(clippy::too_many_arguments)]
pub async fn drive<C: Clock, W: Iterate>(
    clock: &C,
    actor: Arc<W>,
    profile: Box<dyn VuProfile>,
    ramp_grace: Duration,
    graceful_stop: Duration,
    stop: &CancellationToken,
    // Cancelled at the hard stop: the end of `graceful_stop`, or the daemon's shutdown timeout.
    hard: CancellationToken,
    vus_gauge: &Arc<AtomicU32>,
) {
    let start = clock.now();
    let first = Wanted {
        vus: profile.vus_at(Duration::ZERO),
        ended: false,
    };
    let (tx, rx) = watch::channel(first);
    let tracker = TaskTracker::new();
    for id in 0..profile.max_vus() {
        tracker.spawn(vu_loop(
            actor.clone(),
            id,
            rx.clone(),
            hard.clone(),
            ramp_grace,
            vus_gauge.clone(),
        ));
    }
    tracker.close();
    loop {
        let t = clock.now() - start;
        if t >= profile.duration() || stop.is_cancelled() {
            break;
        }
        let vus = profile.vus_at(t);
        tx.send_if_modified(|w| {
            let changed = w.vus != vus;
            w.vus = vus;
            changed
        });
        tokio::select! {
            _ = clock.sleep(Duration::from_millis(10)) => {}
            _ = stop.cancelled() => {}
        }
    }
    let _ = tx.send(Wanted {
        vus: 0,
        ended: true,
    });
    super::pacer::wait_or_cut(clock, &tracker, graceful_stop, &hard).await;
}

async fn vu_loop<W: Iterate>(
    actor: Arc<W>,
    id: u32,
    mut rx: watch::Receiver<Wanted>,
    hard: CancellationToken,
    ramp_grace: Duration,
    gauge: Arc<AtomicU32>,
) {
    let mut vu = actor.vu(id);
    // Waiters are registered once per VU (and once per activation), not once per iteration,
    // and polled only when they fire (`Gated`), not on every wake of the VU.
    let mut hard_stop = Gated::new(hard.cancelled_owned());
    loop {
        let w = *rx.borrow_and_update();
        if w.ended {
            return;
        }
        if id >= w.vus {
            if rx.changed().await.is_err() {
                return;
            }
            continue;
        }
        let _active = super::Active::new(&gauge);
        let mut ramp_down = Gated::new(removed(id, rx.clone(), ramp_grace));
        // One select around the whole run of iterations; the gated stop futures cost a flag
        // check per wake-up of the VU until they fire.
        let iterations = async {
            loop {
                let w = *rx.borrow();
                if w.ended {
                    return true;
                }
                if id >= w.vus {
                    return false;
                }
                actor.iteration(&mut vu, None).await;
            }
        };
        let ended = tokio::select! {
            biased;
            _ = &mut hard_stop => true,
            _ = &mut ramp_down => false,
            ended = iterations => ended,
        };
        if ended {
            return;
        }
    }
}

/// Resolves `grace` after a ramp-down removes VU `id` (never for the final stop).
async fn removed(id: u32, mut rx: watch::Receiver<Wanted>, grace: Duration) {
    loop {
        if rx.changed().await.is_err() {
            return std::future::pending().await;
        }
        let w = *rx.borrow();
        if w.ended {
            return std::future::pending().await;
        }
        if id >= w.vus {
            tokio::time::sleep(grace).await;
            return;
        }
    }
}

/// On paused time (`start_paused`): the controller samples the profile every 10 ms of virtual
/// time, so VU counts and iteration counts are exact.
#[cfg(test)]
mod tests {
    use super::super::pacer::fake::Work;
    use super::*;
    use crate::load::{ConstantVus, RampingVus, Stage, TokioClock};
    use std::sync::atomic::Ordering;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn stages(s: &[(u64, f64)]) -> Vec<Stage> {
        s.iter()
            .map(|&(d, target)| Stage {
                duration: ms(d),
                target,
            })
            .collect()
    }

    /// Drives `profile`, sampling the VU gauge at each of `at` (ms from the start; off the
    /// controller's 10 ms grid so the order of simultaneous timers does not matter).
    async fn run(
        profile: Box<dyn VuProfile>,
        ramp_grace: Duration,
        grace: Duration,
        took: Duration,
        at: &[u64],
    ) -> (Arc<Work>, Vec<u32>, Duration) {
        let work = Work::new(took);
        let gauge = Arc::new(AtomicU32::new(0));
        let stop = CancellationToken::new();
        let hard = CancellationToken::new();
        let driven = drive(
            &TokioClock,
            work.clone(),
            profile,
            ramp_grace,
            grace,
            &stop,
            hard,
            &gauge,
        );
        let sampler = async {
            let mut seen = Vec::new();
            for &t in at {
                tokio::time::sleep_until((work.t0 + ms(t)).into()).await;
                seen.push(gauge.load(Ordering::Relaxed));
            }
            seen
        };
        let ((), seen) = tokio::join!(driven, sampler);
        let ended = work.elapsed();
        assert_eq!(gauge.load(Ordering::Relaxed), 0, "no VU left after the run");
        (work, seen, ended)
    }

    #[tokio::test(start_paused = true)]
    async fn constant_vus_loop_back_to_back_and_report_their_count_while_running() {
        let p = Box::new(ConstantVus {
            vus: 5,
            duration: ms(2000),
        });
        let (work, seen, ended) = run(p, ms(0), ms(30_000), ms(30), &[1005]).await;
        assert_eq!(seen, [5]);
        // Each VU starts at 0, 30, …, 1980 ms: 67 iterations, the last ending at 2010 ms.
        assert_eq!(work.completed(), 5 * 67);
        assert_eq!(ended, ms(2010));
    }

    /// k6's ramping-vus: the floor of the ramp while rising. 0 → 10 over 2 s: 1.275 at 255 ms,
    /// 5.5 at 1105 ms (sampled at 1100), 7.5 at 1505 ms, 10 after 2 s.
    #[tokio::test(start_paused = true)]
    async fn ramping_vus_follow_the_stages() {
        let p = Box::new(RampingVus {
            start_vus: 0,
            stages: stages(&[(2000, 10.0), (1000, 10.0)]),
            graceful_ramp_down: ms(30_000),
        });
        let at = [255, 1105, 1505, 2505];
        let (work, seen, _) = run(p, ms(30_000), ms(30_000), ms(100), &at).await;
        assert_eq!(seen, [1, 5, 7, 10]);
        // VU i joins at i × 200 ms (rounded up to the controller's 10 ms) and loops 100 ms
        // iterations until 3 s: ∫VUs ≈ 9 VU·s of ramp + 10 VU·s of hold.
        let n = work.completed();
        assert_eq!(n, 190);
    }

    /// ramping-vus 4 → 0 over 500 ms after 500 ms (then 2 s at 0), 2 s iterations: the removed
    /// VUs get `graceful_ramp_down` to finish.
    #[tokio::test(start_paused = true)]
    async fn vus_removed_by_a_ramp_down_are_interrupted_after_graceful_ramp_down() {
        let profile = |grace| {
            Box::new(RampingVus {
                start_vus: 4,
                stages: stages(&[(500, 4.0), (500, 0.0), (2000, 0.0)]),
                graceful_ramp_down: grace,
            })
        };
        let (short, seen, _) = run(
            profile(ms(200)),
            ms(200),
            ms(30_000),
            ms(2000),
            &[255, 1505],
        )
        .await;
        assert_eq!(seen, [4, 0], "VUs at 0.25 s and 1.5 s");
        assert_eq!(
            short.completed(),
            0,
            "2 s iterations cut 200 ms after their VU was removed"
        );
        let (long, _, _) = run(profile(ms(3000)), ms(3000), ms(30_000), ms(2000), &[]).await;
        assert_eq!(
            long.completed(),
            4,
            "with a 3 s grace the removed VUs finish their iteration"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_iteration_that_outlives_graceful_stop_is_cut_at_its_end() {
        let p = Box::new(ConstantVus {
            vus: 2,
            duration: ms(1000),
        });
        let (work, _, ended) = run(p, ms(0), ms(500), ms(5000), &[]).await;
        assert_eq!(work.started().len(), 2);
        assert_eq!(work.completed(), 0);
        assert_eq!(ended, ms(1500), "duration + graceful_stop");
    }
}
