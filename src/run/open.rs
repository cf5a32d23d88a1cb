//! Driver of open models (constant-arrival-rate, ramping-arrival-rate): the pacer.
//!
//! Iterations start at their intended times whatever the target does. Each takes a free VU
//! from the pool (growing it up to `max_vus`); when none is free the iteration is dropped and
//! counted, never queued. The intended start is handed to the action, so latency includes any
//! delay the generator or a slow target caused (no coordinated omission). Like k6, the model
//! lasts its whole duration even when its last arrival is earlier (a ramp down to 0). The
//! intended starts come from the pacer thread (`pacer.rs`), which keeps them precise.

use crate::action::{Actor, Vu};
use crate::load::Arrivals;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// An open model: when iterations arrive, for how long, and the VUs that may run them.
pub struct OpenLoad {
    pub arrivals: Box<dyn Arrivals>,
    pub duration: Duration,
    pub pre_allocated_vus: u32,
    pub max_vus: u32,
}

pub async fn drive(
    actor: Arc<Actor>,
    load: OpenLoad,
    graceful_stop: Duration,
    stop: &CancellationToken,
    busy: &Arc<AtomicU32>,
) {
    let OpenLoad {
        arrivals,
        duration,
        pre_allocated_vus: pre_allocated,
        max_vus,
    } = load;
    let pool: Arc<Mutex<Vec<Vu>>> =
        Arc::new(Mutex::new((0..pre_allocated).rev().map(Vu::new).collect()));
    let mut allocated = pre_allocated;
    let hard = CancellationToken::new();
    let tracker = TaskTracker::new();
    let start = Instant::now();
    let mut pacer = super::pacer::spawn(arrivals, start);
    loop {
        let at = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            at = pacer.starts.recv() => match at {
                Some(at) => at,
                None => break,
            },
        };
        let free = pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let vu = match free {
            Some(vu) => vu,
            None if allocated < max_vus => {
                allocated += 1;
                Vu::new(allocated - 1)
            }
            None => {
                actor.recorder().dropped();
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
        _ = tokio::time::sleep_until((start + duration).into()) => {}
        _ = stop.cancelled() => {}
    }
    tracker.close();
    if tokio::time::timeout(graceful_stop, tracker.wait())
        .await
        .is_err()
    {
        hard.cancel();
        tracker.wait().await;
    }
}
