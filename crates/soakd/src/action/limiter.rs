//! The global request-rate ceiling (`safety.max_rps`), enforced at run time.
//!
//! Open models are bounded at plan time (their rates are known); closed models ask for as much
//! as the target gives, so every request of every run in the process takes a slot from this
//! shared pacing clock first. Slots are spaced `1/rate` apart, with at most a tenth of a second
//! of saved-up slots, so the rate over any second stays at or under the ceiling.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Limiter {
    interval: Duration,
    burst: Duration,
    next: Mutex<Instant>,
}

impl Limiter {
    /// `rate` requests per second (> 0).
    pub fn new(rate: f64) -> Limiter {
        let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
        Limiter {
            interval,
            burst: Duration::from_millis(100).max(interval),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for the next slot.
    pub async fn acquire(&self) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            // Unused slots older than the burst window are forgotten.
            if *next + self.burst < now {
                *next = now.checked_sub(self.burst).unwrap_or(now);
            }
            let at = *next;
            *next += self.interval;
            at
        };
        if at > Instant::now() {
            tokio::time::sleep_until(at.into()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_are_spaced_by_the_rate() {
        let l = Limiter::new(1000.0);
        let t0 = Instant::now();
        for _ in 0..300 {
            l.acquire().await;
        }
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(290) && took <= Duration::from_millis(700),
            "{took:?}"
        );
    }
}
