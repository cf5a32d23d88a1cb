//! `--summary-format k6`: soakd writes k6's `--summary-export` JSON, and `soakd report
//! --baseline` reads one.
//!
//! The reader below is written from k6's documentation of the export (the legacy summary of
//! `k6 run --summary-export`, as k6's `internal/js/summary-wrapper.js` builds it and
//! `internal/js/summary_test.go` pins it): a `root_group` of nested `groups` and `checks`
//! (`name, path, id, passes, fails`), and `metrics` whose values depend on the metric's type —
//! trend `avg, min, med, max, p(90), p(95)` (ms for times), counter `count, rate`, rate
//! `passes, fails, value`, gauge `value, min, max` — with `thresholds: {EXPR: failed}`. It
//! refuses any key it does not know, so a shape soakd invents would fail here.

// The daemon tests' support only: it already holds the shared layer of tests/common, which
// a second `mod common;` would compile twice.
#[path = "daemon/support.rs"]
#[allow(dead_code)]
mod support;

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Output, Stdio};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_soakd");

mod reader {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Export {
        pub root_group: Group,
        pub metrics: BTreeMap<String, Values>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Group {
        pub name: String,
        pub path: String,
        pub id: String,
        pub groups: BTreeMap<String, Group>,
        pub checks: BTreeMap<String, Check>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Check {
        pub name: String,
        pub path: String,
        pub id: String,
        pub passes: u64,
        pub fails: u64,
    }

    /// One metric's values; the type is known from the keys, as in k6's export.
    #[derive(Debug, Deserialize)]
    #[serde(untagged)]
    pub enum Values {
        Trend(Trend),
        Rate(Rate),
        Counter(Counter),
        Gauge(Gauge),
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Trend {
        pub avg: f64,
        pub min: f64,
        pub med: f64,
        pub max: f64,
        #[serde(rename = "p(90)")]
        pub p90: f64,
        #[serde(rename = "p(95)")]
        pub p95: f64,
        #[serde(default)]
        pub thresholds: BTreeMap<String, bool>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Rate {
        pub passes: u64,
        pub fails: u64,
        pub value: f64,
        #[serde(default)]
        pub thresholds: BTreeMap<String, bool>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Counter {
        pub count: f64,
        pub rate: f64,
        #[serde(default)]
        pub thresholds: BTreeMap<String, bool>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Gauge {
        pub value: f64,
        pub min: Option<f64>,
        pub max: f64,
        #[serde(default)]
        pub thresholds: BTreeMap<String, bool>,
    }

    pub fn read(path: &Path) -> Export {
        let bytes = std::fs::read(path).expect("the export is written");
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "not k6's export shape: {e}\n{}",
                String::from_utf8_lossy(&bytes)
            )
        })
    }
}

use reader::Values;

async fn soakd(args: &[&str]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_remove("SOAKD_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    tokio::time::timeout(std::time::Duration::from_secs(30), c.output())
        .await
        .expect("soakd ends within 30 s")
        .expect("soakd runs")
}

fn trend<'a>(e: &'a reader::Export, name: &str) -> &'a reader::Trend {
    match &e.metrics[name] {
        Values::Trend(t) => t,
        other => panic!("{name} is not a trend: {other:?}"),
    }
}

fn counter<'a>(e: &'a reader::Export, name: &str) -> &'a reader::Counter {
    match &e.metrics[name] {
        Values::Counter(c) => c,
        other => panic!("{name} is not a counter: {other:?}"),
    }
}

fn rate<'a>(e: &'a reader::Export, name: &str) -> &'a reader::Rate {
    match &e.metrics[name] {
        Values::Rate(r) => r,
        other => panic!("{name} is not a rate: {other:?}"),
    }
}

const SCENARIO: &str = r#"
scenarios:
  feed:
    target: { base_url: "${TARGET}" }
    load: { executor: shared-iterations, vus: 2, iterations: 40 }
    mix:
      - name: ok
        group: api_read
        request: { method: GET, url: /ok }
        checks: [ { status: [200] } ]
    thresholds:
      http_req_duration: ["p(95)<250"]
      "http_req_duration{group:api_read}": ["max<0.001"]
      http_req_failed: ["rate<0.01"]
      checks: ["rate>=0.98"]
      http_reqs: ["count>=40"]
"#;

/// The calibration target in this process, on 127.0.0.1, port 0.
async fn start_target() -> testbed::TargetHandle {
    testbed::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .expect("the calibration target starts on loopback")
}

#[tokio::test]
async fn the_k6_export_has_k6s_keys_units_groups_checks_and_threshold_verdicts() {
    let t = start_target().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("soakd.yaml");
    std::fs::write(&config, SCENARIO.replace("${TARGET}", &t.url())).unwrap();
    let out_path = dir.path().join("k6-summary.json");
    let out = soakd(&[
        "once",
        "feed",
        "--quiet",
        "--config",
        config.to_str().unwrap(),
        "--summary-export",
        out_path.to_str().unwrap(),
        "--summary-format",
        "k6",
    ])
    .await;
    // `max<0.001` ms on loopback cannot hold: exit 99, and the export says which one failed.
    assert_eq!(
        out.status.code(),
        Some(99),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e = reader::read(&out_path);
    let served = t.stats().ok;
    assert_eq!(served, 40);

    let reqs = counter(&e, "http_reqs");
    assert_eq!(reqs.count, served as f64);
    assert!(reqs.rate > 0.0);
    assert_eq!(
        reqs.thresholds,
        BTreeMap::from([("count>=40".to_string(), false)])
    );

    let d = trend(&e, "http_req_duration");
    assert!(d.min > 0.0 && d.min <= d.med && d.med <= d.p90 && d.p90 <= d.p95 && d.p95 <= d.max);
    assert!(d.max < 1000.0, "milliseconds, not µs: max {}", d.max);
    assert!((d.min..=d.max).contains(&d.avg));
    assert_eq!(
        d.thresholds,
        BTreeMap::from([("p(95)<250".to_string(), false)])
    );
    let sub = trend(&e, "http_req_duration{group:api_read}");
    assert_eq!(
        sub.thresholds,
        BTreeMap::from([("max<0.001".to_string(), true)])
    );
    assert_eq!(sub.max, d.max, "every request is in api_read");

    let failed = rate(&e, "http_req_failed");
    assert_eq!(
        (failed.passes, failed.fails, failed.value),
        (0, served, 0.0)
    );
    let checks = rate(&e, "checks");
    assert_eq!(
        (checks.passes, checks.fails, checks.value),
        (served, 0, 1.0)
    );
    assert_eq!(
        checks.thresholds,
        BTreeMap::from([("rate>=0.98".to_string(), false)])
    );
    assert_eq!(counter(&e, "iterations").count, 40.0);

    let root = &e.root_group;
    assert_eq!((root.name.as_str(), root.path.as_str()), ("", ""));
    assert_eq!(
        root.id, "d41d8cd98f00b204e9800998ecf8427e",
        "k6's id of the root group"
    );
    let g = &root.groups["api_read"];
    assert_eq!(
        (g.name.as_str(), g.path.as_str()),
        ("api_read", "::api_read")
    );
    let c = &g.checks["ok/status"];
    assert_eq!(
        (c.name.as_str(), c.path.as_str()),
        ("ok/status", "::api_read::ok/status")
    );
    assert_eq!((c.passes, c.fails), (served, 0));
    for id in [&g.id, &c.id] {
        assert!(
            id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
    }
}

#[tokio::test]
async fn soakd_report_takes_a_k6_export_as_its_baseline() {
    let t = start_target().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/ok", t.url());
    let (k6, cur) = (dir.path().join("k6.json"), dir.path().join("cur.json"));
    for (path, format) in [(&k6, "k6"), (&cur, "soakd")] {
        let out = soakd(&[
            "once",
            "--quiet",
            "--url",
            &url,
            "--vus",
            "2",
            "--duration",
            "2s",
            "--summary-export",
            path.to_str().unwrap(),
            "--summary-format",
            format,
        ])
        .await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // `vus` and `vus_max` are gauges (`value, max`), sampled once a second like k6's.
    let export = reader::read(&k6);
    for name in ["vus", "vus_max"] {
        match &export.metrics[name] {
            Values::Gauge(g) => {
                assert_eq!(g.max, 2.0, "{name}");
                assert!(g.value <= g.max && g.min.is_none() && g.thresholds.is_empty());
            }
            other => panic!("{name} is not a gauge: {other:?}"),
        }
    }
    // The k6 export of one run, its numbers set to the soakd run's: no regression.
    let current: serde_json::Value = serde_json::from_slice(&std::fs::read(&cur).unwrap()).unwrap();
    let m = &current["metrics"];
    let mut base: serde_json::Value = serde_json::from_slice(&std::fs::read(&k6).unwrap()).unwrap();
    let d = &mut base["metrics"]["http_req_duration"];
    d["p(95)"] = m["response_times_ms"]["p95"].clone();
    d["avg"] = m["response_times_ms"]["avg"].clone();
    base["metrics"]["http_reqs"]["rate"] = m["requests_per_second"].clone();
    let same = dir.path().join("same.json");
    std::fs::write(&same, base.to_string()).unwrap();
    let out = soakd(&[
        "report",
        cur.to_str().unwrap(),
        "--baseline",
        same.to_str().unwrap(),
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("compared with baseline k6:same.json"),
        "{stdout}"
    );

    // A k6 baseline twice as fast at p95: the current run regressed.
    let p95 = m["response_times_ms"]["p95"].as_f64().unwrap();
    base["metrics"]["http_req_duration"]["p(95)"] = serde_json::json!(p95 / 2.0);
    let faster = dir.path().join("faster.json");
    std::fs::write(&faster, base.to_string()).unwrap();
    let out = soakd(&[
        "report",
        cur.to_str().unwrap(),
        "--baseline",
        faster.to_str().unwrap(),
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(99), "{stdout}");
    assert!(stdout.contains("✗ regression"), "{stdout}");
}

/// `results.format: [soakd, k6]`: the daemon writes k6's export beside each run summary
/// (`<scenario>-<run id>.k6.json`), and its API still lists only the soakd summaries.
#[test]
fn the_daemon_writes_a_k6_export_beside_each_summary_when_results_format_asks() {
    let dir = tempfile::tempdir().unwrap();
    let target = support::Target::start(dir.path());
    let head = support::config_head(dir.path(), "")
        .replace("retention: 1d }", "retention: 1d, format: [soakd, k6] }");
    let config = format!(
        "{head}scenarios:\n  steady:\n    schedule: {{ continuous: true }}\n    target: {{ base_url: \"{}\" }}\n    load: {{ executor: shared-iterations, vus: 2, iterations: 20 }}\n    mix: [ {{ name: ok, request: {{ url: /ok }} }} ]\n    thresholds: {{ http_req_duration: [\"p(95)<1000\"] }}\n",
        target.url()
    );
    let mut d = support::Daemon::start(dir.path(), "k6-results", &config);
    let results = dir.path().join("results");
    let (k6, summary) = d.wait(std::time::Duration::from_secs(30), "a k6 export", || {
        let files = support::files(&results);
        let k6 = files
            .iter()
            .find(|p| p.to_string_lossy().ends_with(".k6.json"))?;
        let summary = Path::new(&k6.to_string_lossy().replace(".k6.json", ".json")).to_path_buf();
        summary.exists().then(|| (k6.clone(), summary))
    });
    let runs = d.get("/api/v1/runs?scenario=steady&limit=100").json();
    d.proc.signal("TERM");
    d.proc.wait_exit(std::time::Duration::from_secs(10));
    let e = reader::read(&k6);
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert_eq!(
        counter(&e, "http_reqs").count,
        s["metrics"]["requests_total"].as_f64().unwrap()
    );
    assert_eq!(counter(&e, "iterations").count, 20.0);
    let passed = BTreeMap::from([("p(95)<1000".to_string(), false)]);
    assert_eq!(trend(&e, "http_req_duration").thresholds, passed);
    let listed = runs["runs"].as_array().expect("a list of runs");
    assert!(!listed.is_empty(), "{runs}");
    for r in listed {
        let path = r["path"].as_str().unwrap_or_default();
        assert!(
            path.ends_with(".json") && !path.ends_with(".k6.json"),
            "{r}"
        );
    }
}

/// `results.format` lists known formats and always soakd's own.
#[test]
fn results_format_refuses_unknown_formats_and_a_list_without_soakd() {
    let check = |format: &str| -> Vec<String> {
        let yaml = format!(
            "results: {{ format: {format} }}\nscenarios:\n  s:\n    target: {{ base_url: \"http://127.0.0.1:8080\" }}\n    load: {{ executor: shared-iterations }}\n    mix: [ {{ name: home, request: {{ url: \"/\" }} }} ]\n"
        );
        let loaded = soakd::config::load_str("f.yaml", &yaml, Some(BTreeMap::new())).unwrap();
        match soakd::plan::compile_loaded(&loaded) {
            Ok(plan) => vec![format!("ok k6={}", plan.results_k6)],
            Err(errors) => errors.iter().map(|e| e.to_string()).collect(),
        }
    };
    assert_eq!(check("[soakd, k6]"), ["ok k6=true"]);
    assert_eq!(check("[soakd]"), ["ok k6=false"]);
    assert_eq!(
        check("[soakd, junit]"),
        [r#"f.yaml: results.format[1]: unknown format "junit" (use soakd, k6)"#]
    );
    assert_eq!(
        check("[k6]"),
        [
            "f.yaml: results.format: must list soakd (the API, reports and baselines read it); add k6 beside it"
        ]
    );
}
