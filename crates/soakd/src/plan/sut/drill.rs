//! Compiling `drills`: timings, actions (HTTP or command, under the safety rules), expectations.
//!
//! A drill's body is opaque to soakd, so `--time-scale` cannot tell which of its numbers are
//! plan time. The plan marks them: a JSON string that is exactly `"{{ time_scaled(180000) }}"`
//! is the number 180000 in the written plan and 180000 × F under `--time-scale F` (rounded when
//! N is a whole number, never below 1 when N ≥ 1): an outage's length in ms, or a capacity the
//! run's demand (which shrinks with the timeline) must still exceed.

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
        let scaled_bodies = [
            scalable(Some(&d.action), &format!("{dp}.action.body"), e),
            scalable(d.undo.as_ref(), &format!("{dp}.undo.body"), e),
        ];
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
        if let Some(mut action) = action {
            let mut undo = undo;
            if let Some(tpl) = &scaled_bodies[0] {
                set_scaled_body(&mut action, tpl, 1.0);
            }
            if let (Some(tpl), Some(u)) = (&scaled_bodies[1], undo.as_mut()) {
                set_scaled_body(u, tpl, 1.0);
            }
            drills.push(Drill {
                name: d.name.clone(),
                at,
                action,
                undo,
                duration,
                recovery,
                max_errors_during,
                scaled_bodies,
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

/// The number N of a `"{{ time_scaled(N) }}"` string; Err when the string mentions
/// `time_scaled` in another shape (a typo must not reach the target as text).
fn time_scaled_marker(s: &str) -> Option<Result<f64, ()>> {
    if !s.contains("time_scaled") {
        return None;
    }
    let inner = s
        .trim()
        .strip_prefix("{{")
        .and_then(|r| r.strip_suffix("}}"))
        .map(str::trim)
        .and_then(|r| r.strip_prefix("time_scaled("))
        .and_then(|r| r.strip_suffix(')'));
    Some(
        inner
            .and_then(|n| n.trim().parse::<f64>().ok())
            .filter(|n| n.is_finite() && *n >= 0.0)
            .ok_or(()),
    )
}

/// Whether `v` holds a marker; pushes an error for each malformed one.
fn has_markers(v: &serde_json::Value, path: &str, e: &mut Errors) -> bool {
    match v {
        serde_json::Value::String(s) => match time_scaled_marker(s) {
            None => false,
            Some(Ok(_)) => true,
            Some(Err(())) => {
                e.push(
                    path,
                    format!(
                        "{s:?}: a scaled number is the whole string \"{{{{ time_scaled(N) }}}}\" \
                         with N a number ≥ 0"
                    ),
                );
                false
            }
        },
        serde_json::Value::Array(a) => a.iter().enumerate().fold(false, |any, (i, x)| {
            has_markers(x, &format!("{path}[{i}]"), e) | any
        }),
        serde_json::Value::Object(m) => m.iter().fold(false, |any, (k, x)| {
            has_markers(x, &format!("{path}.{k}"), e) | any
        }),
        _ => false,
    }
}

/// The JSON body of `a` when it holds `time_scaled` markers (kept to render per scale).
fn scalable(a: Option<&RawDrillAction>, path: &str, e: &mut Errors) -> Option<serde_json::Value> {
    let json = a?.body.as_ref()?.json.as_ref()?;
    has_markers(json, &format!("{path}.json"), e).then(|| json.clone())
}

/// `tpl` with every marker replaced by its number × `factor`.
fn render(tpl: &serde_json::Value, factor: f64) -> serde_json::Value {
    use serde_json::Value;
    match tpl {
        Value::String(s) => match time_scaled_marker(s) {
            Some(Ok(n)) => {
                let x = n * factor;
                if n.fract() == 0.0 {
                    let whole = x.round().max(if n >= 1.0 { 1.0 } else { 0.0 });
                    Value::from(whole as u64)
                } else {
                    Value::from(x)
                }
            }
            _ => tpl.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(|x| render(x, factor)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), render(x, factor)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Sets the body of an HTTP action to `tpl` rendered at `factor`.
pub(super) fn set_scaled_body(a: &mut DrillAction, tpl: &serde_json::Value, factor: f64) {
    if let DrillAction::Http { body, .. } = a {
        *body = Some((render(tpl, factor).to_string(), "application/json"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn time_scaled_numbers_follow_the_scale_and_nothing_else_does() {
        let tpl = json!({
            "queue_outage_ms": "{{ time_scaled(180000) }}",
            "rsvp_capacity": "{{time_scaled(400)}}",
            "inflow": 28,
            "note": "{{ not ours }}",
            "nested": ["{{ time_scaled(0.5) }}"]
        });
        assert_eq!(
            render(&tpl, 1.0),
            json!({"queue_outage_ms": 180000, "rsvp_capacity": 400, "inflow": 28,
                   "note": "{{ not ours }}", "nested": [0.5]})
        );
        let scaled = render(&tpl, 0.02);
        assert_eq!(scaled["queue_outage_ms"], 3600);
        assert_eq!(scaled["rsvp_capacity"], 8);
        assert_eq!(scaled["inflow"], 28, "a rate is pace, not timeline");
        assert_eq!(
            render(&json!("{{ time_scaled(3) }}"), 0.01),
            1,
            "never below 1"
        );
        assert_eq!(render(&json!("{{ time_scaled(0) }}"), 0.5), 0);
    }

    #[test]
    fn a_malformed_marker_is_a_config_error() {
        let mut e = Errors::default();
        assert!(!has_markers(
            &json!({"x": "{{ time_scaled(abc) }}"}),
            "b",
            &mut e
        ));
        assert!(!has_markers(
            &json!({"x": "ms: {{ time_scaled(5) }}"}),
            "b",
            &mut e
        ));
        assert_eq!(e.list.len(), 2, "{e:?}");
        let mut e = Errors::default();
        assert!(has_markers(
            &json!({"x": ["{{ time_scaled(5) }}"]}),
            "b",
            &mut e
        ));
        assert!(e.list.is_empty());
    }
}
