//! Drills: a timed fault during a run, its undo, and how the API came back from it.
//!
//! A drill task fires its action at `at` (from the run's start) and its undo at `at + duration`
//! (at once if the run ends first: a fault is never left behind). Meanwhile one sampler reads
//! the run's live counters every 100 ms. At the run's end:
//!
//! - recovery = from the action to the start of the first 1 s window from which every later
//!   window's failure rate stays below `below` (windows with no finished request neither break
//!   nor establish recovery). Example: 503s from 2.0 s to 5.1 s after a drill fired at 2.0 s →
//!   the first clean window starts ≈5.1 s → recovery ≈3.1 s.
//! - errors during = failed requests from the action until the undo (or `at + duration`, or the
//!   run's end when the drill has neither).
//!
//! Each expectation is an outcome (`drill:NAME:recovery<=WITHIN_S`, `drill:NAME:errors<=N`)
//! that joins the run's thresholds. A drill whose action failed, or that never fired, breaches
//! every expectation with no observed value: nothing was proven.

use crate::client::{HttpClient, http};
use crate::plan::sut::{Drill, DrillAction};
use crate::record::Recorder;
use crate::verdict::Outcome;
use bytes::Bytes;
use http_body_util::Full;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long one action (request or command) may take.
const ACTION_TIMEOUT: Duration = Duration::from_secs(10);
/// Live counter sampling period and recovery window.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);
pub const WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActionError {
    #[error("request failed: {0}")]
    Request(String),
    #[error("answered {0}")]
    Status(u16),
    #[error("command {program:?} failed: {reason}")]
    Command { program: String, reason: String },
    #[error("the run ended before the drill's time")]
    NotFired,
}

/// One drill's result for a run (the summary's `drills` row).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DrillResult {
    pub name: String,
    /// Seconds from the run's start to the action.
    pub fired_at_seconds: Option<f64>,
    pub recovery_seconds: Option<f64>,
    pub errors_during: Option<u64>,
    pub passed: bool,
    pub error: Option<String>,
    /// The drill's outcomes, also part of the run's thresholds (shown there in summaries).
    #[serde(skip)]
    pub outcomes: Vec<Outcome>,
}

/// Live counters at one instant: (since run start, requests, failures).
pub type Point = (Duration, u64, u64);

/// What the drill task saw: when it fired, failures in its window, any action error.
#[derive(Debug, Default)]
pub struct Fired {
    action_at: Option<Duration>,
    errors_during: Option<u64>,
    error: Option<ActionError>,
}

/// Records live counters every [`SAMPLE_EVERY`] until `stop`.
pub async fn sample_live(rec: Arc<Recorder>, t0: Instant, stop: CancellationToken) -> Vec<Point> {
    let mut out = Vec::new();
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    loop {
        let point = live(&rec, t0);
        out.push(point);
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
    }
    out.push(live(&rec, t0));
    out
}

fn live(rec: &Recorder, t0: Instant) -> Point {
    // Failures first: a request counts in `requests` before it counts as failed.
    let failures = rec.live.failures.load(Ordering::Relaxed);
    let requests = rec.live.requests.load(Ordering::Relaxed);
    (t0.elapsed(), requests, failures.min(requests))
}

/// Fires `d`'s action at `t0 + at` and its undo `duration` later (or at `stop`).
pub async fn run(
    d: Drill,
    client: HttpClient,
    rec: Arc<Recorder>,
    t0: Instant,
    stop: CancellationToken,
) -> Fired {
    let mut f = Fired::default();
    tokio::select! {
        _ = stop.cancelled() => {
            f.error = Some(ActionError::NotFired);
            return f;
        }
        _ = tokio::time::sleep_until((t0 + d.at).into()) => {}
    }
    let failures = || rec.live.failures.load(Ordering::Relaxed);
    let before = failures();
    f.action_at = Some(t0.elapsed());
    tracing::info!(drill = %d.name, "drill action");
    if let Err(e) = fire(&client, &d.action).await {
        tracing::warn!(drill = %d.name, error = %e, "drill action failed");
        f.error = Some(e);
    }
    let Some(duration) = d.duration else {
        return f; // errors are counted until the run's end
    };
    let undo_at = t0 + d.at + duration;
    let stopped = tokio::select! {
        _ = stop.cancelled() => true,
        _ = tokio::time::sleep_until(undo_at.into()) => false,
    };
    if let Some(undo) = &d.undo {
        tracing::info!(drill = %d.name, early = stopped, "drill undo");
        if let Err(e) = fire(&client, undo).await {
            tracing::warn!(drill = %d.name, error = %e, "drill undo failed");
        }
    }
    f.errors_during = Some(failures().saturating_sub(before));
    f
}

async fn fire(client: &HttpClient, a: &DrillAction) -> Result<(), ActionError> {
    match a {
        DrillAction::Http {
            method,
            url,
            headers,
            body,
        } => {
            let mut req = http::Request::builder()
                .method(method.as_str())
                .uri(url.as_str());
            if let Some((_, ct)) = body
                && !headers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                req = req.header("content-type", *ct);
            }
            for (k, v) in headers {
                req = req.header(k.as_str(), v.as_str());
            }
            let bytes = body
                .as_ref()
                .map_or_else(Bytes::new, |(b, _)| Bytes::from(b.clone()));
            let req = req
                .body(Full::new(bytes))
                .map_err(|e| ActionError::Request(e.to_string()))?;
            let resp = client
                .send(req, ACTION_TIMEOUT)
                .await
                .map_err(|r| ActionError::Request(r.to_string()))?;
            if resp.status >= 400 {
                return Err(ActionError::Status(resp.status));
            }
            Ok(())
        }
        DrillAction::Command(argv) => {
            let program = argv.first().cloned().unwrap_or_default();
            let err = |reason: String| ActionError::Command {
                program: program.clone(),
                reason,
            };
            let mut cmd = tokio::process::Command::new(&program);
            cmd.args(&argv[1..])
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true);
            match tokio::time::timeout(ACTION_TIMEOUT, cmd.output()).await {
                Err(_) => Err(err(format!("did not finish within {ACTION_TIMEOUT:?}"))),
                Ok(Err(e)) => Err(err(e.to_string())),
                Ok(Ok(out)) if !out.status.success() => Err(err(format!(
                    "{}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ))),
                Ok(Ok(_)) => Ok(()),
            }
        }
    }
}

/// Seconds from `action_at` to the start of the first window from which the failure rate
/// stays below `below`; None if it never does within the samples.
pub fn recovery(points: &[Point], action_at: Duration, below: f64) -> Option<f64> {
    let mut recovered: Option<Duration> = None;
    // Walk the complete windows backwards: the answer is the earliest start such that it and
    // every later window (with data) are below the bound.
    let starts: Vec<usize> = (0..points.len())
        .filter(|&i| points[i].0 >= action_at)
        .collect();
    for &i in starts.iter().rev() {
        let (t, req0, fail0) = points[i];
        let Some(&(_, req1, fail1)) = points[i..].iter().find(|p| p.0 >= t + WINDOW) else {
            continue; // incomplete window at the end of the run
        };
        let requests = req1.saturating_sub(req0);
        if requests == 0 {
            continue;
        }
        let rate = fail1.saturating_sub(fail0) as f64 / requests as f64;
        if rate < below {
            recovered = Some(t);
        } else {
            break;
        }
    }
    recovered.map(|t| t.saturating_sub(action_at).as_secs_f64())
}

/// Judges `d` from what its task saw and the run's live samples.
pub fn judge(d: &Drill, fired: Fired, points: &[Point]) -> DrillResult {
    let failed_action = fired.error.is_some() || fired.action_at.is_none();
    let action_at = fired.action_at.unwrap_or_default();
    let errors_during = fired.errors_during.or_else(|| {
        // The baseline is the last sample taken before the action: failures right after it
        // (before the next 100 ms sample) belong to the drill too.
        let first = points
            .iter()
            .rev()
            .find(|p| p.0 <= action_at)
            .or(points.first())?;
        let last = points.last()?;
        Some(last.2.saturating_sub(first.2))
    });
    let recovery_seconds = match (&d.recovery, failed_action) {
        (Some(r), false) => recovery(points, action_at, r.below),
        _ => None,
    };
    let mut outcomes = Vec::new();
    if let Some(r) = &d.recovery {
        let observed = recovery_seconds.filter(|_| !failed_action);
        let limit = r.within.as_secs_f64();
        outcomes.push(Outcome {
            threshold: d.recovery_label(r),
            observed,
            limit,
            breached: observed.is_none_or(|v| v > limit),
        });
    }
    if let Some(n) = d.max_errors_during {
        let observed = errors_during.filter(|_| !failed_action).map(|e| e as f64);
        outcomes.push(Outcome {
            threshold: d.errors_label(n),
            observed,
            limit: n as f64,
            breached: observed.is_none_or(|v| v > n as f64),
        });
    }
    DrillResult {
        name: d.name.clone(),
        fired_at_seconds: fired.action_at.map(|t| t.as_secs_f64()),
        recovery_seconds,
        errors_during: errors_during.filter(|_| fired.action_at.is_some()),
        passed: !failed_action && outcomes.iter().all(|o| !o.breached),
        error: fired.error.map(|e| e.to_string()),
        outcomes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10 requests per 100 ms; all fail from 2.0 s to 5.1 s.
    fn points() -> Vec<Point> {
        let (mut req, mut fail) = (0, 0);
        (0..100)
            .map(|i| {
                let t = Duration::from_millis(i * 100);
                let p = (t, req, fail);
                req += 10;
                if (20..51).contains(&i) {
                    fail += 10;
                }
                p
            })
            .collect()
    }

    #[test]
    fn recovery_is_the_start_of_the_first_clean_window_for_good() {
        let r = recovery(&points(), Duration::from_secs(2), 0.01).unwrap();
        assert!((r - 3.1).abs() < 1e-9, "{r}");
        // Never failing: recovered at once.
        let clean: Vec<Point> = points().into_iter().map(|(t, r, _)| (t, r, 0)).collect();
        assert_eq!(recovery(&clean, Duration::from_secs(2), 0.01), Some(0.0));
        // Failing to the end: never recovered.
        let bad: Vec<Point> = points().into_iter().map(|(t, r, _)| (t, r, r)).collect();
        assert_eq!(recovery(&bad, Duration::from_secs(2), 0.01), None);
    }
}
