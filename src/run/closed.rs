//! Driver of closed models (constant-vus, ramping-vus): VUs loop while the profile wants them.
//!
//! A controller samples the profile every 10 ms and publishes the wanted VU count; VU `i` runs
//! iterations while `i < count`. A VU removed by a ramp-down finishes its iteration within
//! `graceful_ramp_down`; at the end every VU gets `graceful_stop` before it is interrupted.
//! The VU gauge counts the VUs actually running iterations (a removed VU still finishing its
//! iteration counts until it ends), not the profile's wish.

use crate::action::{Actor, Vu};
use crate::load::VuProfile;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Clone, Copy, PartialEq)]
struct Wanted {
    vus: u32,
    ended: bool,
}

pub async fn drive(
    actor: Arc<Actor>,
    profile: Box<dyn VuProfile>,
    ramp_grace: Duration,
    graceful_stop: Duration,
    stop: &CancellationToken,
    // Cancelled at the hard stop: the end of `graceful_stop`, or the daemon's shutdown timeout.
    hard: CancellationToken,
    vus_gauge: &Arc<AtomicU32>,
) {
    let start = Instant::now();
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
        let t = start.elapsed();
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
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
            _ = stop.cancelled() => {}
        }
    }
    let _ = tx.send(Wanted {
        vus: 0,
        ended: true,
    });
    if tokio::time::timeout(graceful_stop, tracker.wait())
        .await
        .is_err()
    {
        hard.cancel();
        tracker.wait().await;
    }
}

async fn vu_loop(
    actor: Arc<Actor>,
    id: u32,
    mut rx: watch::Receiver<Wanted>,
    hard: CancellationToken,
    ramp_grace: Duration,
    gauge: Arc<AtomicU32>,
) {
    let mut vu = Vu::new(id);
    // Waiters are registered once per VU (and once per activation), not once per iteration.
    let hard_stop = hard.cancelled();
    tokio::pin!(hard_stop);
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
        let ramp_down = removed(id, rx.clone(), ramp_grace);
        tokio::pin!(ramp_down);
        // One select around the whole run of iterations: every wake-up of the VU polls the
        // stop futures once (each poll takes their notifier's lock), not once per iteration.
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
