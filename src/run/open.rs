//! Driver of open models (constant-arrival-rate, ramping-arrival-rate): the pacer.
//!
//! Iterations start at their intended times whatever the target does. Each takes a free VU
//! from the pool (growing it up to `max_vus`); when none is free the iteration is dropped and
//! counted, never queued. The intended start is handed to the action, so latency includes any
//! delay the generator or a slow target caused (no coordinated omission). Like k6, the model
//! lasts its whole duration even when its last arrival is earlier (a ramp down to 0). The
//! intended starts come from the pacer thread (`pacer.rs`) up to 1000/s, which keeps them
//! precise, and from tokio's timer above that.
//!
//! A sharded replica's run starts on a wall-clock grid (`OpenModel::grid`) shared by every
//! replica: its phase-shifted arrivals (`Scenario::arrival_phase`) then fall between the other
//! replicas' ones whatever moment each replica's trigger fired, like k6 execution segments.

use crate::action::{Actor, Vu};
use crate::load::{Arrivals, OpenModel};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long until the next multiple of `period` of Unix time.
fn until_grid(period: Duration) -> Duration {
    let p = period.as_secs_f64();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    if p <= 0.0 {
        return Duration::ZERO;
    }
    let rest = p - now.rem_euclid(p);
    Duration::from_secs_f64(if rest >= p { 0.0 } else { rest })
}

/// Up to this rate the pacer thread gives each start to within tens of µs for a few µs of CPU
/// per start; above it, its two context switches per start cost more than the ≤ 1 ms that
/// tokio's timer adds (which is still measured: generator lag, and latency from the intended
/// start), and one timer tick releases a whole batch of due starts.
const PACER_THREAD_MAX_RATE: f64 = 1000.0;

/// Where intended starts come from.
enum Starts {
    Thread(super::pacer::Pacer),
    Timer {
        arrivals: Box<dyn Arrivals>,
        start: Instant,
    },
}

impl Starts {
    async fn next(&mut self) -> Option<Instant> {
        match self {
            Starts::Thread(p) => p.starts.recv().await,
            Starts::Timer { arrivals, start } => {
                let at = *start + arrivals.next_offset()?;
                if at > Instant::now() {
                    tokio::time::sleep_until(at.into()).await;
                }
                Some(at)
            }
        }
    }
}

pub async fn drive(
    actor: Arc<Actor>,
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
    let pool: Arc<Mutex<Vec<Vu>>> =
        Arc::new(Mutex::new((0..pre_allocated).rev().map(Vu::new).collect()));
    let mut allocated = pre_allocated;
    let tracker = TaskTracker::new();
    let start = Instant::now()
        + if sharded {
            until_grid(grid)
        } else {
            Duration::ZERO
        };
    let mut starts = if peak_rate <= PACER_THREAD_MAX_RATE {
        Starts::Thread(super::pacer::spawn(arrivals, start))
    } else {
        Starts::Timer { arrivals, start }
    };
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
