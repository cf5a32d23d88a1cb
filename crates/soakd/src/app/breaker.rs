//! The circuit breaker: a run against a target that fails hard is stopped, and its scenario
//! held for a cooldown that doubles with every trip in a row (capped) and resets after a
//! passing run.
//!
//! Without it a continuous scenario with `abort_on_fail` restarts at once after each abort and
//! sends hundreds of requests a minute to a dead shared staging. The watcher judges the last
//! `window` of the run every half second: the failed share from the recorder's live counters,
//! the p95 from the difference of two cumulative snapshots of the exact histogram (so it is the
//! window's own p95, not the run's).

use super::App;
use crate::plan::safety_windows::CircuitBreaker;
use crate::plan::threshold::TagFilter;
use crate::run::RunControl;
use crate::verdict::RunNumbers;
use chrono::Utc;
use hdrhistogram::Histogram;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const TICK: Duration = Duration::from_millis(500);

/// Cumulative numbers of the run at one instant.
struct Mark {
    at: Instant,
    requests: u64,
    failed: u64,
    latency: Option<Histogram<u64>>,
}

fn mark(ctl: &RunControl, with_latency: bool) -> Mark {
    let live = &ctl.recorder.live;
    Mark {
        at: Instant::now(),
        requests: live.requests.load(Ordering::Relaxed),
        failed: live.failures.load(Ordering::Relaxed),
        latency: with_latency.then(|| {
            ctl.recorder
                .snapshot()
                .request_latency(&TagFilter::default())
                .unwrap_or_else(|| Histogram::new(3).expect("valid histogram"))
        }),
    }
}

/// Why the window trips the breaker, if it does.
fn verdict(cb: &CircuitBreaker, old: &Mark, now: &Mark) -> Option<String> {
    let n = now.requests.saturating_sub(old.requests);
    if n < cb.min_requests {
        return None;
    }
    let failed = now.failed.saturating_sub(old.failed);
    let rate = failed as f64 / n as f64;
    if let Some(limit) = cb.error_rate
        && rate >= limit
    {
        return Some(format!("error rate {rate:.3} >= {limit} over {n} requests"));
    }
    if let (Some(limit), Some(cur), Some(base)) = (cb.p95, &now.latency, &old.latency) {
        let mut w = cur.clone();
        if w.subtract(base).is_ok() && !w.is_empty() {
            let p95 = Duration::from_micros(w.value_at_quantile(0.95));
            if p95 >= limit {
                return Some(format!("p95 {p95:?} >= {limit:?} over {n} requests"));
            }
        }
    }
    None
}

/// Watches one run until it ends or trips the breaker.
pub(super) async fn watch(app: Arc<App>, ctl: Arc<RunControl>, cb: CircuitBreaker) {
    let with_latency = cb.p95.is_some();
    let mut marks = VecDeque::from([mark(&ctl, with_latency)]);
    loop {
        tokio::time::sleep(TICK).await;
        if ctl.is_stopping()
            || app
                .active_run(&ctl.scenario.name)
                .is_none_or(|c| c.id != ctl.id)
        {
            return;
        }
        let now = mark(&ctl, with_latency);
        // Keep the newest mark at least `window` old as the window's start.
        while marks.len() > 1 && now.at.duration_since(marks[1].at) >= cb.window {
            marks.pop_front();
        }
        if let Some(why) = marks.front().and_then(|old| verdict(&cb, old, &now)) {
            app.trip(&ctl, &cb, &why);
            return;
        }
        marks.push_back(now);
    }
}

impl App {
    /// Opens the breaker of the run's scenario and stops the run (`aborted`, `circuit_open`).
    fn trip(&self, ctl: &RunControl, cb: &CircuitBreaker, why: &str) {
        let name = ctl.scenario.name.clone();
        let (trips, hold) = {
            let mut h = self.holds.lock().unwrap_or_else(|p| p.into_inner());
            let b = h.breakers.entry(name.clone()).or_default();
            b.trips += 1;
            let hold = cb.cooldown_after(b.trips);
            b.open_until = chrono::Duration::from_std(hold)
                .ok()
                .map(|d| Utc::now() + d);
            (b.trips, hold)
        };
        // The ledger thread writes it to breakers.json (no file I/O on this async worker): a
        // restart keeps the scenario held for the rest of the cooldown.
        self.ledger(super::ledger::Job::SaveBreakers);
        tracing::warn!(scenario = %name, run_id = %ctl.id, trips, ?hold, why, "circuit breaker open: holding the scenario");
        self.stop_for(ctl, "circuit_open");
        self.metrics.circuit_open(&name, true);
        // Close the gauge when the hold ends, even if nothing fires then (cron scenarios).
        let me = self.me.clone();
        tokio::spawn(async move {
            tokio::time::sleep(hold + Duration::from_millis(50)).await;
            if let Some(app) = me.upgrade()
                && app.held(&name, Utc::now()) != Some(crate::schedule::Skip::CircuitOpen)
            {
                app.metrics.circuit_open(&name, false);
            }
        });
    }

    /// A passing run closes the breaker for good: the next trip starts from `cooldown` again.
    /// Runs on the ledger thread (it persists the change).
    pub(super) fn breaker_passed(&self, scenario: &str) {
        let changed = {
            let mut h = self.holds.lock().unwrap_or_else(|p| p.into_inner());
            match h.breakers.get_mut(scenario) {
                Some(b) if b.trips != 0 => {
                    b.trips = 0;
                    true
                }
                _ => false,
            }
        };
        if changed {
            self.persist_breakers();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cb() -> CircuitBreaker {
        CircuitBreaker {
            error_rate: Some(0.5),
            p95: Some(Duration::from_secs(1)),
            window: Duration::from_secs(30),
            cooldown: Duration::from_secs(300),
            max_cooldown: Duration::from_secs(3600),
            min_requests: 10,
        }
    }

    fn at(requests: u64, failed: u64, latencies_ms: &[u64]) -> Mark {
        let mut h = Histogram::<u64>::new(3).unwrap();
        for l in latencies_ms {
            h.record(l * 1000).unwrap();
        }
        Mark {
            at: Instant::now(),
            requests,
            failed,
            latency: Some(h),
        }
    }

    #[test]
    fn half_the_window_failing_trips_and_the_run_before_it_does_not_count() {
        // 100 earlier requests all failed; in the window 20 more with 5 failures: no trip.
        let old = at(100, 100, &[]);
        assert_eq!(verdict(&cb(), &old, &at(120, 105, &[])), None);
        assert!(verdict(&cb(), &old, &at(120, 110, &[])).is_some());
    }

    #[test]
    fn too_few_requests_are_not_judged() {
        assert_eq!(verdict(&cb(), &at(0, 0, &[]), &at(9, 9, &[])), None);
    }

    #[test]
    fn the_window_p95_ignores_slow_requests_before_it() {
        let slow: Vec<u64> = vec![5000; 50];
        let old = at(50, 0, &slow);
        let mut now_lat = slow.clone();
        now_lat.extend([10; 20]);
        assert_eq!(verdict(&cb(), &old, &at(70, 0, &now_lat)), None);
        now_lat.extend([2000; 20]);
        let why = verdict(&cb(), &old, &at(90, 0, &now_lat)).expect("trip");
        assert!(why.starts_with("p95"), "{why}");
    }
}
