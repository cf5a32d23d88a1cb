//! Windowed thresholds (`{ threshold: "p(95)<800", window: 1m }`), judged while the run goes.
//!
//! The seeds ask for verdicts no whole-run aggregate can give ("all SLOs met throughout",
//! "latency > 900 ms for 2 consecutive minutes"). One task per run takes a snapshot every step
//! (a tenth of the shortest window, 100 ms to 10 s) and judges each windowed threshold on the
//! samples of the window that just ended: `snapshot(now) − snapshot(now − window)`, exact (see
//! `record::delta`). The window slides by one step, so it spans `window` to `window + step`.
//! The run's verdict for such a threshold is its worst window (breached if any window
//! breached); each window's value is exported live (`soakd_threshold_window_observed`) so an
//! alert can page in the middle of an overnight soak. A run shorter than the window is judged
//! as one window. `abort_on_fail` stops the run at the first breached window.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::RunControl;
use crate::plan::threshold::{Op, Threshold};
use crate::record::RunSnapshot;
use crate::verdict::{self, Outcome};

/// The running watcher of one run's windowed thresholds.
pub struct WindowWatch {
    stop: CancellationToken,
    task: JoinHandle<Vec<(usize, Outcome)>>,
}

impl WindowWatch {
    /// Starts watching `ctl`'s windowed thresholds; `None` when it has none.
    pub fn start(ctl: Arc<RunControl>) -> Option<WindowWatch> {
        let windowed: Vec<usize> = (0..ctl.scenario.thresholds.len())
            .filter(|&i| ctl.scenario.thresholds[i].window.is_some())
            .collect();
        if windowed.is_empty() {
            return None;
        }
        let stop = CancellationToken::new();
        let task = tokio::spawn(watch(ctl, windowed, stop.clone()));
        Some(WindowWatch { stop, task })
    }

    /// Judges the windows up to now and returns the worst outcome of each windowed threshold,
    /// by its index in `Scenario::thresholds`.
    pub async fn finish(self) -> Vec<(usize, Outcome)> {
        self.stop.cancel();
        self.task.await.unwrap_or_default()
    }
}

/// Time between two snapshots for windows as short as `shortest`.
pub fn step_for(shortest: Duration) -> Duration {
    (shortest / 10).clamp(Duration::from_millis(100), Duration::from_secs(10))
}

async fn watch(
    ctl: Arc<RunControl>,
    windowed: Vec<usize>,
    stop: CancellationToken,
) -> Vec<(usize, Outcome)> {
    let ts = &ctl.scenario.thresholds;
    let window = |i: usize| ts[i].window.unwrap_or_default();
    let shortest = windowed
        .iter()
        .map(|&i| window(i))
        .min()
        .unwrap_or_default();
    let longest = windowed
        .iter()
        .map(|&i| window(i))
        .max()
        .unwrap_or_default();
    let step = step_for(shortest);
    let mut history: VecDeque<RunSnapshot> = VecDeque::from([ctl.recorder.snapshot()]);
    let mut worst: Vec<Option<Outcome>> = vec![None; windowed.len()];
    let mut judged = vec![false; windowed.len()];
    let mut aborted = false;
    loop {
        let last = tokio::select! {
            _ = tokio::time::sleep(step) => false,
            _ = stop.cancelled() => true,
        };
        let now = ctl.recorder.snapshot();
        for (k, &i) in windowed.iter().enumerate() {
            let t = &ts[i];
            let w = window(i);
            let outcome = if now.elapsed >= w {
                // The newest snapshot at least one window old: the window (base, now].
                let base = history.iter().rev().find(|s| s.elapsed + w <= now.elapsed);
                base.map(|b| verdict::evaluate(t, &now.since(b)))
            } else if last && !judged[k] {
                // The run ended before one whole window: it is the window.
                Some(verdict::evaluate(t, &now))
            } else {
                None
            };
            let Some(o) = outcome else { continue };
            judged[k] = true;
            ctl.recorder.window_judged(&t.label, o.observed, o.breached);
            if !aborted && verdict::should_abort(t, &o, now.elapsed) {
                tracing::warn!(scenario = %ctl.scenario.name, threshold = %t.label, "windowed threshold crossed with abort_on_fail: stopping the run");
                ctl.abort_on_threshold();
                aborted = true;
            }
            if worst[k].as_ref().is_none_or(|cur| worse(t, &o, cur)) {
                worst[k] = Some(o);
            }
        }
        if last {
            break;
        }
        history.push_back(now);
        // Keep the newest snapshot older than the longest window (the base of its next window).
        while history.len() > 1
            && history[1].elapsed + longest + step
                <= history.back().map_or(Duration::ZERO, |s| s.elapsed)
        {
            history.pop_front();
        }
    }
    windowed
        .iter()
        .zip(worst)
        .filter_map(|(&i, o)| o.map(|o| (i, o)))
        .collect()
}

/// Whether window outcome `a` is worse than `b`: a breach beats a pass; among equals, the
/// value further on the wrong side of the limit (higher for `<`, lower for `>`).
fn worse(t: &Threshold, a: &Outcome, b: &Outcome) -> bool {
    if a.breached != b.breached {
        return a.breached;
    }
    match (a.observed, b.observed) {
        (Some(x), Some(y)) => match t.op {
            Op::Lt | Op::Le => x > y,
            Op::Gt | Op::Ge => x < y,
            Op::Eq | Op::Ne => (x - t.limit).abs() > (y - t.limit).abs(),
        },
        (None, Some(_)) => a.breached,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(observed: Option<f64>, breached: bool) -> Outcome {
        Outcome {
            threshold: "t".into(),
            observed,
            limit: 800.0,
            breached,
        }
    }

    #[test]
    fn the_worst_window_is_the_breached_one_then_the_furthest_from_the_limit() {
        let t = crate::plan::threshold::parse("http_req_duration", "p(95)<800").unwrap();
        assert!(worse(
            &t,
            &outcome(Some(900.0), true),
            &outcome(Some(700.0), false)
        ));
        assert!(worse(
            &t,
            &outcome(Some(1200.0), true),
            &outcome(Some(900.0), true)
        ));
        assert!(!worse(
            &t,
            &outcome(Some(500.0), false),
            &outcome(Some(700.0), false)
        ));
        let rate = crate::plan::threshold::parse("http_reqs", "rate>400").unwrap();
        assert!(worse(
            &rate,
            &outcome(Some(350.0), true),
            &outcome(Some(390.0), true)
        ));
    }

    #[test]
    fn the_step_is_a_tenth_of_the_shortest_window_within_bounds() {
        assert_eq!(step_for(Duration::from_secs(60)), Duration::from_secs(6));
        assert_eq!(step_for(Duration::from_secs(1)), Duration::from_millis(100));
        assert_eq!(step_for(Duration::from_secs(3600)), Duration::from_secs(10));
    }
}
