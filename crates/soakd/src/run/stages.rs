//! Per-stage verdicts (`http_req_duration{stage:peak}: ["p(95)<800"]`): a threshold filtered on
//! a named stage of a ramping executor is judged on the samples that ended while that stage
//! ran, so "p95 < 800 ms at 1000 RPS" is said of the 1000 RPS stage, not of the ramps around it.
//!
//! One task per run snapshots the recorder at every stage boundary (times from the run's own,
//! possibly time-scaled, load) and judges each stage threshold on `snapshot(end) −
//! snapshot(start)` (`record::delta`): exact counts and histograms of that slice. A request is
//! counted in the stage in which it ended; the last stage runs on to the run's end (requests
//! finishing in the graceful stop are its own). A run stopped inside a stage is judged on the part
//! of the stage that ran; a stage never reached is judged on no samples (as k6 judges an empty
//! metric).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::RunControl;
use crate::plan::Executor;
use crate::plan::threshold::TagKey;
use crate::record::RunSnapshot;
use crate::verdict::{self, Outcome};

/// The running watcher of one run's stage thresholds.
pub struct StageWatch {
    stop: CancellationToken,
    task: JoinHandle<Vec<(usize, Outcome)>>,
}

/// `[start, end)` of every stage, from the run's start.
pub fn bounds(executor: &Executor) -> Vec<(Duration, Duration)> {
    let stages = executor.stages();
    let mut at = Duration::ZERO;
    stages
        .iter()
        .map(|s| {
            let b = (at, at + s.duration);
            at += s.duration;
            b
        })
        .collect()
}

impl StageWatch {
    /// Starts watching `ctl`'s stage thresholds; `None` when it has none.
    pub fn start(ctl: Arc<RunControl>) -> Option<StageWatch> {
        let s = &ctl.scenario;
        let bounds = bounds(&s.load.executor);
        // (threshold index, stage bounds)
        let judged: Vec<(usize, (Duration, Duration))> = s
            .thresholds
            .iter()
            .enumerate()
            .filter_map(|(i, t)| {
                let name = t.filter.get(TagKey::Stage)?;
                let k = s
                    .stage_names
                    .iter()
                    .position(|n| n.as_deref() == Some(name))?;
                let (from, to) = *bounds.get(k)?;
                // The last stage runs on to the run's end: requests still finishing in the
                // graceful stop belong to it.
                let to = if k + 1 == bounds.len() {
                    Duration::MAX
                } else {
                    to
                };
                Some((i, (from, to)))
            })
            .collect();
        if judged.is_empty() {
            return None;
        }
        let stop = CancellationToken::new();
        let task = tokio::spawn(watch(ctl, judged, stop.clone()));
        Some(StageWatch { stop, task })
    }

    /// The outcome of each stage threshold, by its index in `Scenario::thresholds`.
    pub async fn finish(self) -> Vec<(usize, Outcome)> {
        self.stop.cancel();
        self.task.await.unwrap_or_default()
    }
}

async fn watch(
    ctl: Arc<RunControl>,
    judged: Vec<(usize, (Duration, Duration))>,
    stop: CancellationToken,
) -> Vec<(usize, Outcome)> {
    let started = tokio::time::Instant::now();
    let mut marks: Vec<Duration> = judged
        .iter()
        .flat_map(|(_, (a, b))| [*a, *b])
        .filter(|m| *m != Duration::MAX)
        .collect();
    marks.sort();
    marks.dedup();
    // Snapshots by the boundary they were taken at; the run's start is the first.
    let mut at: BTreeMap<Duration, RunSnapshot> = BTreeMap::new();
    for mark in marks {
        if mark > Duration::ZERO {
            tokio::select! {
                _ = tokio::time::sleep_until(started + mark) => {}
                _ = stop.cancelled() => break,
            }
        }
        at.insert(mark, ctl.recorder.snapshot());
    }
    // The run's end (immediate when the run stopped before the last boundary).
    stop.cancelled().await;
    let last = ctl.recorder.snapshot();
    let ts = &ctl.scenario.thresholds;
    judged
        .iter()
        .map(|&(i, (from, to))| {
            let outcome = match (at.get(&from), at.get(&to)) {
                (Some(a), Some(b)) => verdict::evaluate(&ts[i], &b.since(a)),
                // Stopped inside the stage: the part that ran.
                (Some(a), None) => verdict::evaluate(&ts[i], &last.since(a)),
                // Never reached: no samples.
                (None, _) => verdict::evaluate(&ts[i], &last.since(&last)),
            };
            (i, outcome)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Stage;

    #[test]
    fn stage_bounds_follow_one_another() {
        let ex: Executor = crate::plan::RampingArrivalRate {
            start_rate: 0.0,
            stages: vec![
                Stage {
                    duration: Duration::from_secs(60),
                    target: 100.0,
                },
                Stage {
                    duration: Duration::from_secs(120),
                    target: 100.0,
                },
            ],
            pre_allocated_vus: 1,
            max_vus: 1,
        }
        .into();
        let s = Duration::from_secs;
        assert_eq!(bounds(&ex), [(s(0), s(60)), (s(60), s(180))]);
        assert!(
            bounds(
                &crate::plan::ConstantVus {
                    vus: 1,
                    duration: s(1)
                }
                .into()
            )
            .is_empty()
        );
    }
}
