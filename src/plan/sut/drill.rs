//! Compiling `drills`: timings, actions (HTTP or command, under the safety rules), expectations.

use super::{Drill, DrillAction, Recovery, host_allowed, valid_name};
use crate::config::{RawBody, RawConfig, RawDrillAction, RawScenario};
use crate::plan::errors::Errors;
use std::collections::BTreeMap;

/// Validates a scenario's `drills` (`path` is `scenarios.NAME`).
pub(super) fn compile_drills(
    rs: &RawScenario,
    raw: &RawConfig,
    path: &str,
    e: &mut Errors,
) -> Vec<Drill> {
    let mut drills = Vec::new();
    let mut names = BTreeMap::new();
    for (i, d) in rs.drills.iter().enumerate() {
        let dp = format!("{path}.drills[{i}]");
        if !valid_name(&d.name) {
            e.push(
                format!("{dp}.name"),
                format!(
                    "{:?} is not a valid name (letters, digits, _ and -)",
                    d.name
                ),
            );
        } else if names.insert(d.name.clone(), ()).is_some() {
            e.push(format!("{dp}.name"), format!("{:?} is used twice", d.name));
        }
        let at = e.duration(&format!("{dp}.at"), &d.at).unwrap_or_default();
        let duration = d
            .duration
            .as_ref()
            .and_then(|s| e.duration(&format!("{dp}.duration"), s));
        let action = compile_action(&d.action, raw, &format!("{dp}.action"), e);
        let undo = d
            .undo
            .as_ref()
            .and_then(|u| compile_action(u, raw, &format!("{dp}.undo"), e));
        if d.undo.is_some() && d.duration.is_none() {
            e.push(
                format!("{dp}.duration"),
                "is required with undo (undo fires at at + duration)",
            );
        }
        let recovery = d.expect.recovery.as_ref().and_then(|r| {
            let rp = format!("{dp}.expect.recovery");
            if let Some(m) = r.metric.as_deref().filter(|m| *m != "http_req_failed") {
                e.push(
                    format!("{rp}.metric"),
                    format!("{m:?} is not supported (use http_req_failed)"),
                );
            }
            if !(r.below.is_finite() && r.below > 0.0 && r.below <= 1.0) {
                e.push(
                    format!("{rp}.below"),
                    format!("{} must be a rate within (0, 1]", r.below),
                );
            }
            let within = e.duration(&format!("{rp}.within"), &r.within)?;
            Some(Recovery {
                below: r.below,
                within,
            })
        });
        let max_errors_during = d.expect.max_errors_during.and_then(|n| {
            if n < 0 {
                e.push(
                    format!("{dp}.expect.max_errors_during"),
                    format!("{n} must not be negative"),
                );
                None
            } else {
                Some(n as u64)
            }
        });
        if let Some(action) = action {
            drills.push(Drill {
                name: d.name.clone(),
                at,
                action,
                undo,
                duration,
                recovery,
                max_errors_during,
            });
        }
    }
    drills
}

fn compile_action(
    a: &RawDrillAction,
    raw: &RawConfig,
    path: &str,
    e: &mut Errors,
) -> Option<DrillAction> {
    match (&a.url, &a.command) {
        (Some(_), Some(_)) | (None, None) => {
            e.push(
                path,
                "needs exactly one of url (an HTTP request) or command",
            );
            None
        }
        (None, Some(cmd)) => {
            if !raw.safety.allow_commands {
                e.push(
                    format!("{path}.command"),
                    "commands are refused unless safety.allow_commands is true",
                );
                return None;
            }
            if cmd.first().is_none_or(|p| p.trim().is_empty()) {
                e.push(
                    format!("{path}.command"),
                    "needs a program as its first element",
                );
                return None;
            }
            Some(DrillAction::Command(cmd.clone()))
        }
        (Some(u), None) => {
            let url = match url::Url::parse(u) {
                Ok(x) if matches!(x.scheme(), "http" | "https") && x.host_str().is_some() => x,
                _ => {
                    e.push(
                        format!("{path}.url"),
                        format!("{u:?} is not an absolute http(s) URL"),
                    );
                    return None;
                }
            };
            host_allowed(raw, &url, &format!("{path}.url"), e);
            let method = a.method.as_deref().unwrap_or("POST").to_ascii_uppercase();
            if hyper::http::Method::from_bytes(method.as_bytes()).is_err() {
                e.push(
                    format!("{path}.method"),
                    format!("{method:?} is not an HTTP method"),
                );
            }
            let body = match &a.body {
                Some(b) => body(b, &format!("{path}.body"), e),
                None => None,
            };
            let headers = a
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Some(DrillAction::Http {
                method,
                url,
                headers,
                body,
            })
        }
    }
}

fn body(b: &RawBody, path: &str, e: &mut Errors) -> Option<(String, &'static str)> {
    match (&b.json, &b.text) {
        (Some(j), None) => Some((j.to_string(), "application/json")),
        (None, Some(t)) => Some((t.clone(), "text/plain")),
        _ => {
            e.push(path, "needs exactly one of json or text");
            None
        }
    }
}
