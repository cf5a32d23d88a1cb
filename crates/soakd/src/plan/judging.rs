//! What a scenario's runs are judged against: its thresholds, whose grammar is `threshold.rs`
//! and which are checked here against the scenario's own requests, groups and stages, and the
//! raw baseline delta (`baseline.max_regression`). Part of `compile`.

use super::errors::Errors;
use super::names::stage_names;
use super::threshold::{self, TagKey, Threshold};
use crate::config::{RawScenario, RawThresholdExpr};

/// Every `thresholds` entry of the scenario parsed, with its filters checked against the
/// scenario: statuses, stages, requests and groups it names must exist.
pub(super) fn compile_thresholds(
    rs: &RawScenario,
    requests: &[super::RequestMeta],
    path: &str,
    e: &mut Errors,
) -> Vec<Threshold> {
    let mut out = Vec::new();
    for (key, exprs) in &rs.thresholds {
        if let Err(err) = threshold::parse_metric_key(key) {
            e.push(format!("{path}.{key}"), err.to_string());
            continue;
        }
        for (i, x) in exprs.iter().enumerate() {
            let tp = format!("{path}.{key}[{i}]");
            let (expr, abort, delay, window) = match x {
                RawThresholdExpr::Plain(s) => (s.as_str(), false, None, None),
                RawThresholdExpr::Full(f) => (
                    f.threshold.as_str(),
                    f.abort_on_fail,
                    f.delay_abort_eval
                        .as_ref()
                        .and_then(|d| e.duration(&format!("{tp}.delay_abort_eval"), d)),
                    f.window
                        .as_ref()
                        .and_then(|d| e.duration(&format!("{tp}.window"), d)),
                ),
            };
            match threshold::parse(key, expr) {
                Ok(mut t) => {
                    t.abort_on_fail = abort;
                    t.delay_abort_eval = delay;
                    if let Some(w) = window {
                        match threshold::windowed(t, w) {
                            Ok(windowed) => t = windowed,
                            Err(msg) => {
                                e.push(format!("{tp}.window"), msg);
                                continue;
                            }
                        }
                    }
                    for (k, v) in &t.filter.0 {
                        if *k == TagKey::Status
                            && !v.parse::<u16>().is_ok_and(|c| (100..=599).contains(&c))
                        {
                            e.push(
                                &tp,
                                format!("{v:?} is not an HTTP status code (e.g. status:200)"),
                            );
                            continue;
                        }
                        if *k == TagKey::Stage {
                            if !stage_names(rs)
                                .iter()
                                .any(|n| n.as_deref() == Some(v.as_str()))
                            {
                                e.push(
                                    &tp,
                                    format!("filters on stage {v:?}, which no stage of the load is named"),
                                );
                            } else if t.window.is_some() {
                                e.push(
                                    &tp,
                                    "a stage threshold is judged on its stage; it takes no window",
                                );
                            }
                            continue;
                        }
                        let known = match k {
                            TagKey::Request => requests.iter().any(|r| &r.name == v),
                            TagKey::Group => requests.iter().any(|r| &r.group == v),
                            _ => true,
                        };
                        if !known {
                            let tag = if *k == TagKey::Request {
                                "request"
                            } else {
                                "group"
                            };
                            e.push(
                                &tp,
                                format!("filters on {tag} {v:?}, which the mix does not have"),
                            );
                        }
                    }
                    out.push(t);
                }
                Err(err) => e.push(&tp, err.to_string()),
            }
        }
    }
    out
}

pub(super) fn compile_baseline(rs: &RawScenario, path: &str, e: &mut Errors) -> Option<f64> {
    let b = rs.baseline.as_ref()?;
    if b.against.is_some() {
        // The statistical baseline (`plan::safety_windows`) replaces the raw delta.
        return None;
    }
    let p = format!("{path}.baseline");
    match b.compare_to.as_deref() {
        None | Some("last_pass") => {}
        Some(other) => e.push(
            format!("{p}.compare_to"),
            format!("{other:?} is not supported (use last_pass)"),
        ),
    }
    let limit = match &b.max_regression {
        None => Some(10.0),
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => {
            s.trim().trim_end_matches('%').trim().parse::<f64>().ok()
        }
        Some(_) => None,
    };
    match limit {
        Some(l) if l.is_finite() && l >= 0.0 => Some(l),
        _ => {
            e.push(
                format!("{p}.max_regression"),
                format!("{:?} is not a percentage such as 10%", b.max_regression),
            );
            None
        }
    }
}
