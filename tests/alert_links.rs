//! tests/alert_links.rs — why this exists: the alert rules build tickets from two series soakd
//! exports for them: `soakd_run_last_info{scenario, run_id, report_url, dashboard_url}` (the
//! last run and absolute links under `server.external_url` / `server.grafana_url`) and
//! `soakd_schedule_interval_seconds{scenario}` (what SoakdScenarioStale compares against). This
//! runs a real daemon against the real demo target and follows the link it exports.

#[path = "daemon/support.rs"]
#[allow(dead_code)]
mod support;

use std::time::Duration;
use support::*;

fn label<'a>(sample: &'a Sample, key: &str) -> &'a str {
    sample
        .label(key)
        .unwrap_or_else(|| panic!("no label {key} on {sample:?}"))
}

#[test]
fn last_run_info_links_the_report_and_the_interval_is_exported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = Target::start(dir.path());
    let cfg = format!(
        "{}scenarios:\n  soak:\n    schedule: {{ continuous: true }}\n    target: {{ base_url: \"{}\" }}\n    load: {{ executor: constant-vus, vus: 1, duration: 1s }}\n    mix: [ {{ name: ok, request: {{ method: GET, url: /ok }} }} ]\n  quarterly:\n    schedule: {{ cron: \"*/15 * * * *\", timezone: UTC }}\n    target: {{ base_url: \"{}\" }}\n    load: {{ executor: constant-vus, vus: 1, duration: 1s }}\n    mix: [ {{ name: ok, request: {{ method: GET, url: /ok }} }} ]\n  by_hand:\n    target: {{ base_url: \"{}\" }}\n    load: {{ executor: constant-vus, vus: 1, duration: 1s }}\n    mix: [ {{ name: ok, request: {{ method: GET, url: /ok }} }} ]\n",
        config_head(
            dir.path(),
            ", external_url: \"https://soakd.staging.example.com/\", grafana_url: \"https://grafana.example.com\""
        ),
        target.url(),
        target.url(),
        target.url()
    );
    let daemon = Daemon::start(dir.path(), "links", &cfg);
    // Two runs of the continuous scenario have ended: exactly one info series, the last run's.
    let m = daemon.wait(Duration::from_secs(30), "two runs of soak ended", || {
        let m = daemon.metrics();
        (m.sum("soakd_runs_total", &[("scenario", "soak")]) >= 2.0).then_some(m)
    });
    let info: Vec<&Sample> = m
        .samples
        .iter()
        .filter(|s| s.name == "soakd_run_last_info" && s.has(&[("scenario", "soak")]))
        .collect();
    assert_eq!(
        info.len(),
        1,
        "one series per scenario, the last run's: {info:?}"
    );
    let run_id = label(info[0], "run_id");
    let end = m
        .value(
            "soakd_run_last_end_timestamp_seconds",
            &[("scenario", "soak")],
        )
        .expect("last end");
    assert!(
        (info[0].value - end).abs() < 1.0,
        "value is the run's end: {} vs {end}",
        info[0].value
    );
    let report = label(info[0], "report_url");
    assert_eq!(
        report,
        format!("https://soakd.staging.example.com/api/v1/runs/{run_id}/report.html")
    );
    assert_eq!(
        label(info[0], "dashboard_url"),
        "https://grafana.example.com/d/soakd-scenario/soakd-scenario?var-scenario=soak"
    );
    // The link is real: the path answers on the daemon with the run's HTML report.
    let path = report.trim_start_matches("https://soakd.staging.example.com");
    let page = daemon.get(path);
    assert_eq!(page.status, 200, "GET {path}: {page:?}");
    assert!(page.body.contains(run_id), "the report names its run");

    assert_eq!(
        m.value("soakd_schedule_interval_seconds", &[("scenario", "soak")]),
        Some(1.0),
        "a continuous scenario's interval is its run duration"
    );
    assert_eq!(
        m.value(
            "soakd_schedule_interval_seconds",
            &[("scenario", "by_hand")]
        ),
        None,
        "a manual scenario has no expected interval"
    );
}

#[test]
fn external_url_must_be_absolute() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("soakd.yaml");
    std::fs::write(
        &cfg,
        format!(
            "{}scenarios: {{}}\n",
            config_head(dir.path(), ", external_url: \"soakd.local\"")
                .replace("${LISTEN}", "127.0.0.1:0")
        ),
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .args(["check", "--config", cfg.to_str().unwrap()])
        .output()
        .expect("soakd check");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("server.external_url"), "{err}");
}
