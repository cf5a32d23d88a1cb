//! The PromQL of the shipped Grafana dashboards (grafana/*.json) as the tests that run it against
//! a real Prometheus see it (tests/prometheus_native.rs, tests/incident.rs): every `expr`, with
//! Grafana's variables substituted, split into the halves of a native-else-classic `or`, and the
//! documented list of expressions that may return no data against the tests' scenarios.

use serde_json::Value;
use std::path::{Path, PathBuf};

/// One `expr` of a dashboard; `event` when it is an annotation's (annotations mark events and
/// are empty when none happened in the queried window).
pub struct Expr {
    pub expr: String,
    pub event: bool,
}

/// Expressions that may return no data against the test scenarios, by a text they contain, with
/// the reason. Every other panel query must return data. Extend only with a reason.
pub const MAY_BE_EMPTY: &[(&str, &str)] = &[
    (
        "soakd_ws_",
        "WebSocket: the test scenarios have no websocket steps",
    ),
    (
        "soakd_drill_",
        "drills: the test scenarios have no drills (a drill acts on the system under test)",
    ),
    (
        "threshold=~\"drill:",
        "drill verdicts: the test scenarios have no drills",
    ),
    (
        "threshold=~\"sut:",
        "SUT checks: the test scenarios have no sut_checks (they query the SUT's own Prometheus)",
    ),
    (
        "threshold=~\"regression:",
        "regression verdicts: the test scenarios have no baseline",
    ),
];

/// Histogram families soakd also exposes as native histograms: a Prometheus without
/// `--enable-feature=native-histograms` stores no series under these bare names (only
/// `_bucket`, `_sum`, `_count`), so there the classic half of a query's `or` answers.
pub const NATIVE_HISTOGRAMS: &[&str] = &[
    "soakd_http_request_duration_seconds",
    "soakd_ws_connecting_seconds",
    "soakd_ws_message_duration_seconds",
    "soakd_generator_lag_seconds",
];

/// The reason `expr` may return no data, if it is one of [`MAY_BE_EMPTY`].
pub fn may_be_empty(expr: &str) -> Option<&'static str> {
    MAY_BE_EMPTY
        .iter()
        .find(|(text, _)| expr.contains(text))
        .map(|(_, reason)| *reason)
}

pub fn dashboard_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("grafana/{name}.json"))
}

/// The dashboards of grafana/ by name (`soakd-overview`, ...), sorted.
pub fn dashboards() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("grafana");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("grafana/")
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".json")
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

/// Every non-empty `expr` of the dashboard `name` (panel targets, nested rows, annotations).
pub fn exprs(name: &str) -> Vec<Expr> {
    fn collect(v: &Value, event: bool, out: &mut Vec<Expr>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("expr", Value::String(e)) if !e.trim().is_empty() => out.push(Expr {
                            expr: e.clone(),
                            event,
                        }),
                        _ => collect(v, event || k == "annotations", out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| collect(v, event, out)),
            _ => {}
        }
    }
    let path = dashboard_path(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let d: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut out = Vec::new();
    collect(&d, false, &mut out);
    out
}

/// `expr` with Grafana's variables as the tests set them: `$scenario` = `scenario`, `$job` any
/// job, `$namespace` and `$threshold` at their All value `.*` (which also matches series without
/// the label), `$__rate_interval` 1m, `$__interval` 1s, `$__range` 5m.
pub fn substitute(expr: &str, scenario: &str) -> String {
    expr.replace("${scenario}", scenario)
        .replace("$scenario", scenario)
        .replace("$job", ".+")
        .replace("$namespace", ".*")
        .replace("$threshold", ".*")
        .replace("$__rate_interval", "1m")
        .replace("$__interval", "1s")
        .replace("$__range", "5m")
}

/// A comparison with a number filters (`next_run > 0` is empty for a continuous scenario,
/// `count(... == 1)` when no incident is open): such a query may be empty.
pub fn is_condition(q: &str) -> bool {
    regex::Regex::new(r"(==|!=|>=|<=|>|<)\s*-?[0-9.]+\s*(\)|$)")
        .expect("regex")
        .is_match(q.trim())
}

/// The operands of `q`'s top-level `or`s (outside brackets and strings): the native and the
/// classic half of a latency query. A single element when `q` has none.
pub fn or_operands(q: &str) -> Vec<&str> {
    let bytes = q.as_bytes();
    let (mut depth, mut quote, mut start) = (0i32, None::<u8>, 0);
    let mut parts = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(_) if c == b'\\' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'"' | b'\'' | b'`' => quote = Some(c),
                b'(' | b'{' | b'[' => depth += 1,
                b')' | b'}' | b']' => depth -= 1,
                b' ' if depth == 0 && q[i..].starts_with(" or ") => {
                    parts.push(q[start..i].trim());
                    start = i + 4;
                    i += 3;
                }
                _ => {}
            },
        }
        i += 1;
    }
    parts.push(q[start..].trim());
    parts
}

#[test]
fn or_operands_split_only_the_top_level() {
    assert_eq!(
        or_operands("histogram_quantile(0.5, sum(rate(a{x=\" or \"}[1m]))) or b or (c or d)"),
        [
            "histogram_quantile(0.5, sum(rate(a{x=\" or \"}[1m])))",
            "b",
            "(c or d)"
        ]
    );
    assert_eq!(or_operands("sum(x)"), ["sum(x)"]);
    assert!(is_condition("count(max(x) == 1)") && is_condition("x > 0"));
    assert!(!is_condition("max(x) * 1000"));
}
