//! The system under test's side of a scenario: PromQL checks and chaos drills, validated.
//!
//! Half of a soak's success criteria live in the team's Prometheus (memory headroom, queue
//! depth), and some plans inject a fault mid-run and expect the API to recover. Both are judged
//! like thresholds, so their mistakes are config errors here, at check time, never at the end
//! of a six-hour run: a check needs `prometheus.url`, drill URLs and the Prometheus host obey
//! `safety.allowed_hosts`, and commands need `safety.allow_commands: true`.

use super::errors::Errors;
// The name rule of every user-given name (checks and drills reach labels like requests do).
use super::names::valid_name;
use super::threshold::Op;
use crate::config::{RawConfig, RawScenario};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

mod drill;

/// Where the checks query.
#[derive(Debug, Clone)]
pub struct Prometheus {
    pub url: url::Url,
    pub bearer_token_file: Option<PathBuf>,
    pub timeout: Duration,
}

/// How a check's samples over a run become one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SutAgg {
    Max,
    Min,
    Avg,
    Last,
    /// Growth of a counter over the run (last − first, resets counted as restarts from 0).
    Increase,
}

impl SutAgg {
    fn parse(s: &str) -> Option<SutAgg> {
        Some(match s {
            "max" => SutAgg::Max,
            "min" => SutAgg::Min,
            "avg" => SutAgg::Avg,
            "last" => SutAgg::Last,
            "increase" => SutAgg::Increase,
            _ => return None,
        })
    }
}

/// What a failed query makes of the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Breached with no observed value (never a pass).
    Fail,
    /// Not breached; the error is still reported.
    Skip,
}

#[derive(Debug, Clone)]
pub struct SutCheck {
    pub name: String,
    pub query: String,
    pub aggregation: SutAgg,
    pub op: Op,
    pub limit: f64,
    /// `sut:NAME:EXPR`, the `threshold` label.
    pub label: String,
    pub every: Duration,
    pub on_error: OnError,
}

/// One drill action: an HTTP request or a local command.
#[derive(Debug, Clone)]
pub enum DrillAction {
    Http {
        method: String,
        url: url::Url,
        headers: Vec<(String, String)>,
        /// Body and its default content type.
        body: Option<(String, &'static str)>,
    },
    Command(Vec<String>),
}

/// Recovery expectation on `http_req_failed`.
#[derive(Debug, Clone, Copy)]
pub struct Recovery {
    pub below: f64,
    pub within: Duration,
}

#[derive(Debug, Clone)]
pub struct Drill {
    pub name: String,
    pub at: Duration,
    pub action: DrillAction,
    pub undo: Option<DrillAction>,
    /// From action to undo; None = errors are counted until the run's end.
    pub duration: Option<Duration>,
    pub recovery: Option<Recovery>,
    pub max_errors_during: Option<u64>,
    /// The JSON bodies of `action` and `undo` when they hold `"{{ time_scaled(N) }}"` numbers,
    /// kept to render again under `--time-scale` (`drill::scaled_body`).
    scaled_bodies: [Option<serde_json::Value>; 2],
}

impl Drill {
    /// `drill:NAME:recovery<=WITHIN_S`.
    pub fn recovery_label(&self, r: &Recovery) -> String {
        format!("drill:{}:recovery<={}", self.name, fmt_secs(r.within))
    }

    /// `drill:NAME:errors<=N`.
    pub fn errors_label(&self, n: u64) -> String {
        format!("drill:{}:errors<={n}", self.name)
    }
}

fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s}")
    }
}

/// A scenario's SUT checks and drills, with the Prometheus they need.
#[derive(Debug, Clone, Default)]
pub struct SutPlan {
    pub prometheus: Option<Arc<Prometheus>>,
    pub checks: Vec<SutCheck>,
    pub drills: Vec<Drill>,
}

impl SutPlan {
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty() && self.drills.is_empty()
    }

    /// Every timing multiplied by `factor` (`--time-scale`).
    pub fn scaled(&self, factor: f64) -> SutPlan {
        let mut p = self.clone();
        for c in &mut p.checks {
            c.every = c.every.mul_f64(factor).max(Duration::from_millis(100));
        }
        for d in &mut p.drills {
            // Numbers of the bodies marked as plan time or volume (an outage's length in ms, a
            // capacity the scaled demand must still exceed) scale with the timeline.
            if let Some(tpl) = &d.scaled_bodies[0] {
                drill::set_scaled_body(&mut d.action, tpl, factor);
            }
            if let (Some(tpl), Some(undo)) = (&d.scaled_bodies[1], d.undo.as_mut()) {
                drill::set_scaled_body(undo, tpl, factor);
            }
            d.at = d.at.mul_f64(factor);
            d.duration = d.duration.map(|x| x.mul_f64(factor));
            if let Some(r) = &mut d.recovery {
                r.within = r.within.mul_f64(factor);
            }
        }
        p
    }
}

/// Validates `prometheus` (top level) once; errors point at `prometheus.*`.
pub fn compile_prometheus(raw: &RawConfig, e: &mut Errors) -> Option<Arc<Prometheus>> {
    let p = raw.prometheus.as_ref()?;
    let url_s = p.url.as_deref()?;
    let url = match url::Url::parse(url_s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
        _ => {
            e.push(
                "prometheus.url",
                format!("{url_s:?} is not a valid http(s) URL"),
            );
            return None;
        }
    };
    host_allowed(raw, &url, "prometheus.url", e);
    let timeout = e.duration_or("prometheus.timeout", &p.timeout, Duration::from_secs(5));
    Some(Arc::new(Prometheus {
        url,
        bearer_token_file: p.bearer_token_file.as_ref().map(PathBuf::from),
        timeout,
    }))
}

/// Validates one scenario's `sut_checks` and `drills`.
pub fn compile_sut(
    rs: &RawScenario,
    raw: &RawConfig,
    prometheus: &Option<Arc<Prometheus>>,
    path: &str,
    e: &mut Errors,
) -> SutPlan {
    let mut checks = Vec::new();
    let mut names = BTreeMap::new();
    for (i, c) in rs.sut_checks.iter().enumerate() {
        let cp = format!("{path}.sut_checks[{i}]");
        if !valid_name(&c.name) {
            e.push(
                format!("{cp}.name"),
                format!(
                    "{:?} is not a valid name (letters, digits, _ and -)",
                    c.name
                ),
            );
        } else if names.insert(c.name.clone(), ()).is_some() {
            e.push(format!("{cp}.name"), format!("{:?} is used twice", c.name));
        }
        if c.query.trim().is_empty() {
            e.push(format!("{cp}.query"), "must not be empty");
        }
        let every = e.duration_or(&format!("{cp}.every"), &c.every, Duration::from_secs(15));
        if every.is_zero() {
            e.push(format!("{cp}.every"), "must be above 0");
        }
        let on_error = match c.on_error.as_deref() {
            None | Some("fail") => OnError::Fail,
            Some("skip") => OnError::Skip,
            Some(o) => {
                e.push(
                    format!("{cp}.on_error"),
                    format!("{o:?} is not fail or skip"),
                );
                OnError::Fail
            }
        };
        match parse_expr(&c.threshold) {
            Ok((aggregation, op, limit, expr)) => checks.push(SutCheck {
                label: format!("sut:{}:{expr}", c.name),
                name: c.name.clone(),
                query: c.query.clone(),
                aggregation,
                op,
                limit,
                every,
                on_error,
            }),
            Err(msg) => e.push(format!("{cp}.threshold"), msg),
        }
    }
    if !rs.sut_checks.is_empty() && prometheus.is_none() {
        let ok = raw.prometheus.as_ref().is_some_and(|p| p.url.is_some());
        if !ok {
            e.push(
                format!("{path}.sut_checks"),
                "needs prometheus.url (the Prometheus the checks query)",
            );
        }
    }
    let drills = drill::compile_drills(rs, raw, path, e);
    SutPlan {
        prometheus: if checks.is_empty() {
            None
        } else {
            prometheus.clone()
        },
        checks,
        drills,
    }
}

pub(super) fn host_allowed(raw: &RawConfig, url: &url::Url, path: &str, e: &mut Errors) {
    let allowed = &raw.safety.allowed_hosts;
    let host = url.host_str().unwrap_or_default();
    if !super::allow::url_allowed(url, allowed) {
        e.push(
            path,
            format!("host {host:?} is not in safety.allowed_hosts {allowed:?}"),
        );
    }
}

/// `max<0.75` → (Max, Lt, 0.75, "max<0.75"); messages quote the expression.
fn parse_expr(s: &str) -> Result<(SutAgg, Op, f64, String), SutExprError> {
    let expr: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    // The operator grammar is the threshold parser's (one place for `<`, `<=`, `==`, …).
    let (agg, op, limit) =
        super::threshold::split_at_op(&expr).ok_or_else(|| SutExprError::Shape(s.to_string()))?;
    let agg = SutAgg::parse(agg).ok_or_else(|| SutExprError::Aggregation {
        expr: s.to_string(),
        agg: agg.to_string(),
    })?;
    let limit: f64 = limit
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| SutExprError::Limit {
            expr: s.to_string(),
            limit: limit.to_string(),
        })?;
    Ok((agg, op, limit, expr))
}

/// Why a SUT check's `threshold` is not `AGG OP LIMIT`; each message quotes the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum SutExprError {
    #[error("{0:?}: expected AGG OP LIMIT such as \"max<0.75\" (operators < <= > >= == !=)")]
    Shape(String),
    #[error("{expr:?}: unknown aggregation {agg:?} (use max, min, avg, last or increase)")]
    Aggregation { expr: String, agg: String },
    #[error("{expr:?}: {limit:?} is not a number")]
    Limit { expr: String, limit: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_parse_with_k6_operators() {
        let (a, op, l, x) = parse_expr(" max < 0.75 ").unwrap();
        assert_eq!(
            (a, op, l, x.as_str()),
            (SutAgg::Max, Op::Lt, 0.75, "max<0.75")
        );
        assert_eq!(parse_expr("increase<=3").unwrap().1, Op::Le);
        assert!(
            parse_expr("p(95)<1")
                .unwrap_err()
                .to_string()
                .contains("unknown aggregation")
        );
        assert!(
            parse_expr("max<x")
                .unwrap_err()
                .to_string()
                .contains("not a number")
        );
        assert!(parse_expr("max").is_err());
    }
}
