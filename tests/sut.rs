//! tests/sut.rs — the system under test's side (issue 9 acceptance): PromQL checks judged by a
//! real Prometheus scraping the calibration target, chaos drills with measured recovery, and
//! the safety rules of both at check time.
//!
//! - A memory-like gauge (`demo_memory_ratio`) pushed over its limit mid-run fails
//!   `sut:memory_headroom:max<0.75`; the daemon (`soakd run`, real binary) with that check on a
//!   continuous scenario opens the incident after two breached runs; an unreachable Prometheus
//!   makes the check `error`: breached with no observed value (never a pass), or not breached
//!   with `on_error: skip`.
//! - A queue outage drill: the measured recovery is within ±1 s of the drain time the target
//!   reports itself (`/_stats` `queue_drained_at_ms`); the same drill with `within: 500ms`
//!   breaches; a failover drill counts its transient 5xx.
//! - Commands are refused unless `safety.allow_commands: true`; drill and Prometheus hosts must
//!   be in `safety.allowed_hosts`.

#[path = "common/mod.rs"]
mod common;
#[path = "sut/drills.rs"]
mod drills;
#[path = "sut/support.rs"]
mod support;

use soakd::config::load_str;
use soakd::plan::compile_loaded;
use soakd::run::RunResult;
use std::time::Duration;
use support::{Procs, call, control, free_port, start_prometheus, wait_for};

const MEMORY: &str = "sut:memory_headroom:max<0.75";

// ------------------------------------------------------------------------------ check time

const FIXTURES: &str = "tests/fixtures/sut";

/// (fixture, every error line `soakd check` prints for it).
const INVALID: &[(&str, &[&str])] = &[
    (
        "invalid-checks-without-prometheus.yaml",
        &["scenarios.soak.sut_checks: needs prometheus.url (the Prometheus the checks query)"],
    ),
    (
        "invalid-command-not-allowed.yaml",
        &[
            "scenarios.soak.drills[0].action.command: commands are refused unless safety.allow_commands is true",
        ],
    ),
    (
        "invalid-drill-host-not-allowed.yaml",
        &[
            r#"prometheus.url: host "prometheus.internal" is not in safety.allowed_hosts ["127.0.0.1"]"#,
            r#"scenarios.soak.drills[0].action.url: host "chaos.example.com" is not in safety.allowed_hosts ["127.0.0.1"]"#,
        ],
    ),
    (
        "invalid-bad-sut-fields.yaml",
        &[
            r#"prometheus.timeout: "2x" is not a duration (use e.g. 250ms, 30s, 3m, 1h)"#,
            r#"scenarios.soak.sut_checks[0].on_error: "ignore" is not fail or skip"#,
            r#"scenarios.soak.sut_checks[0].threshold: "p(95)<0.75": unknown aggregation "p(95)" (use max, min, avg, last or increase)"#,
            r#"scenarios.soak.drills[0].at: "3x" is not a duration (use e.g. 250ms, 30s, 3m, 1h)"#,
            "scenarios.soak.drills[0].duration: is required with undo (undo fires at at + duration)",
            r#"scenarios.soak.drills[0].expect.recovery.metric: "http_req_duration" is not supported (use http_req_failed)"#,
            "scenarios.soak.drills[0].expect.recovery.below: 1.5 must be a rate within (0, 1]",
        ],
    ),
];

fn compile_file(path: &str) -> Result<soakd::plan::Plan, Vec<String>> {
    let text = std::fs::read_to_string(support::root().join(path)).expect("read fixture");
    let loaded = load_str(path, &text, Some(Default::default()))
        .map_err(|e| e.0.iter().map(|x| x.to_string()).collect::<Vec<_>>())?;
    compile_loaded(&loaded).map_err(|e| e.iter().map(|x| x.to_string()).collect())
}

#[test]
fn every_sut_config_mistake_names_its_field() {
    for (fixture, expected) in INVALID {
        let path = format!("{FIXTURES}/{fixture}");
        let mut got = compile_file(&path).err().unwrap_or_default();
        let mut want: Vec<String> = expected.iter().map(|l| format!("{path}: {l}")).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{fixture}");
    }
}

#[test]
fn commands_are_allowed_with_allow_commands() {
    let plan = compile_file(&format!("{FIXTURES}/valid-commands-allowed.yaml"))
        .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(plan.scenarios["soak"].sut.drills.len(), 1);
}

#[test]
fn the_sut_example_compiles_with_the_seeds_criteria() {
    let plan = compile_file("config/examples/sut.yaml").unwrap_or_else(|e| panic!("{e:#?}"));
    let soak = &plan.scenarios["resilience_soak"].sut;
    let labels: Vec<&str> = soak.checks.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            MEMORY,
            "sut:worker_restarts:increase<1",
            "sut:served:increase>0"
        ]
    );
    assert_eq!(
        plan.scenarios["queue_outage"].sut.checks[0].label,
        "sut:queue_drained:last<1"
    );
    let queue = &plan.scenarios["queue_outage"].sut.drills[0];
    assert_eq!(
        queue.recovery_label(queue.recovery.as_ref().unwrap()),
        "drill:queue_outage:recovery<=300"
    );
    let failover = &plan.scenarios["db_failover"].sut.drills[0];
    assert_eq!(failover.max_errors_during, Some(2));
    // --time-scale reaches the drills and checks too.
    let scaled = plan.scenarios["queue_outage"].time_scaled(0.01);
    assert_eq!(scaled.sut.drills[0].at, Duration::from_millis(1200));
    assert_eq!(
        scaled.sut.drills[0].recovery.unwrap().within,
        Duration::from_secs(3)
    );
}

/// The queue outage's length is plan time: under `--time-scale` the outage ends (the undo
/// fires) at the scaled 3 min, so the scaled drill keeps the seed's proportions (outage 3 of 5
/// recovery minutes) instead of outlasting its own recovery bound with a fixed 180 s.
#[test]
fn the_sut_example_queue_outage_ends_at_its_scaled_duration() {
    use soakd::plan::sut::DrillAction;
    let plan = compile_file("config/examples/sut.yaml").unwrap_or_else(|e| panic!("{e:#?}"));
    let scaled = plan.scenarios["queue_outage"].time_scaled(0.01);
    let d = &scaled.sut.drills[0];
    assert_eq!(
        d.duration,
        Some(Duration::from_millis(1800)),
        "outage 3m x 0.01"
    );
    let Some(DrillAction::Http {
        body: Some((undo, _)),
        ..
    }) = &d.undo
    else {
        panic!("the outage needs an undo that ends it: {d:?}");
    };
    assert_eq!(undo, r#"{"queue_outage_ms":0}"#);
    // The outage's own length is `time_scaled` too: the target ends it at the scaled 3 min
    // even if the undo is lost, and the written plan keeps the seed's 180 000 ms.
    let action_body = |d: &soakd::plan::sut::Drill| match &d.action {
        DrillAction::Http {
            body: Some((b, _)), ..
        } => serde_json::from_str::<serde_json::Value>(b).unwrap(),
        other => panic!("HTTP action with a body expected: {other:?}"),
    };
    assert_eq!(action_body(d)["queue_outage_ms"], 1800, "180000 ms x 0.01");
    assert_eq!(
        action_body(d)["queue_inflow_per_sec"],
        28,
        "a rate is pace: not scaled"
    );
    let written = &plan.scenarios["queue_outage"].sut.drills[0];
    assert_eq!(action_body(written)["queue_outage_ms"], 180_000);
    assert!(d.at + d.duration.unwrap() < d.at + d.recovery.unwrap().within);
    // So is the cache purge's rebuild.
    let purge = &plan.scenarios["cache_purge"].time_scaled(0.01).sut.drills[0];
    assert_eq!(
        action_body(purge)["cache_purge_ms"],
        1200,
        "120000 ms x 0.01"
    );
}

// ------------------------------------------------------------------------------ Prometheus

fn with_prometheus(url: &str, scenario: &str) -> String {
    format!("prometheus: {{ url: \"{url}\", timeout: 2s }}\n{scenario}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_prometheus_is_an_error_never_a_pass() {
    let target = common::start_target().await;
    let dead = format!("http://127.0.0.1:{}", free_port());
    let body = r#"
        target: { base_url: "${TARGET}" }
        load: { executor: constant-vus, vus: 1, duration: 1500ms }
        mix: [ { name: ok, request: { url: /ok } } ]
        sut_checks:
          - { name: memory_headroom, query: "max(demo_memory_ratio)", threshold: "max<0.75", every: 500ms }
          - { name: lenient, query: "max(demo_memory_ratio)", threshold: "max<0.75", every: 500ms, on_error: skip }
    "#;
    let yaml = with_prometheus(&dead, &common::config_yaml(&target.url(), "t", body));
    let (report, _) = common::run(common::compile_scenario(&yaml, "t")).await;
    let o = |label: &str| {
        report
            .outcomes
            .iter()
            .find(|o| o.threshold == label)
            .cloned()
    };
    let strict = o(MEMORY).expect("the memory check's outcome");
    assert!(strict.breached && strict.observed.is_none(), "{strict:?}");
    let lenient = o("sut:lenient:max<0.75").expect("the lenient check's outcome");
    assert!(
        !lenient.breached && lenient.observed.is_none(),
        "{lenient:?}"
    );
    let detail = &report.sut.checks[0];
    assert!(
        detail
            .error
            .as_deref()
            .unwrap_or("")
            .contains("unreachable"),
        "{detail:?}"
    );
    assert!(
        detail.queries >= 3,
        "sampled during the run and at its end: {detail:?}"
    );
    assert_eq!(report.result, RunResult::Fail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_gauge_pushed_over_its_limit_mid_run_fails_the_sut_check() {
    let target = common::start_target().await;
    let mut procs = Procs::new();
    let prom = start_prometheus(&mut procs, &target.addr().to_string()).await;
    let body = r#"
        target: { base_url: "${TARGET}" }
        load: { executor: constant-vus, vus: 1, duration: DURATION }
        mix: [ { name: ok, request: { url: /ok } } ]
        sut_checks:
          - { name: memory_headroom, query: "max(demo_memory_ratio)", threshold: "max<0.75", every: 1s }
    "#;
    let scenario = |d: &str| {
        let yaml = common::config_yaml(&target.url(), "t", &body.replace("DURATION", d));
        common::compile_scenario(&with_prometheus(&prom, &yaml), "t")
    };
    // Healthy: the default ratio 0.42 passes.
    let (healthy, _) = common::run(scenario("3s")).await;
    let o = healthy
        .outcomes
        .iter()
        .find(|o| o.threshold == MEMORY)
        .unwrap();
    assert!(
        !o.breached && o.observed == Some(0.42),
        "{o:?}{}",
        procs.logs()
    );
    // Pushed to 0.9 two seconds into a 6 s run.
    let url = target.url();
    let push = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        control(&url, r#"{"memory_ratio": 0.9}"#).await;
    });
    let (hot, _) = common::run(scenario("6s")).await;
    push.await.unwrap();
    let o = hot.outcomes.iter().find(|o| o.threshold == MEMORY).unwrap();
    assert!(
        o.breached && o.observed == Some(0.9),
        "{o:?} {:?}{}",
        hot.sut,
        procs.logs()
    );
    assert_eq!(hot.result, RunResult::Fail);
    eprintln!(
        "sut: memory check healthy {:?}, hot {:?}",
        healthy.sut.checks, hot.sut.checks
    );
}

/// Value of `name{scenario="mem",threshold="…"}` (or `drill="…"`) in the daemon's /metrics.
fn gauge(text: &str, name: &str, label: &str) -> Option<f64> {
    common::sample_value(text, name, &[label])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_opens_the_incident_after_two_runs_with_the_memory_held_high() {
    let mut procs = Procs::new();
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_soakd"));
    let target_addr = format!("127.0.0.1:{}", free_port());
    procs.spawn(
        "target",
        &bin,
        &["target".into(), "--listen".into(), target_addr.clone()],
    );
    let target = format!("http://{target_addr}");
    let t = target.clone();
    wait_for("the target", Duration::from_secs(20), &procs, || {
        let t = t.clone();
        async move { (call("GET", &format!("{t}/ok"), None).await.ok()?.0 == 200).then_some(()) }
    })
    .await;
    control(&target, r#"{"memory_ratio": 0.9}"#).await;
    let prom = start_prometheus(&mut procs, &target_addr).await;
    let p = prom.clone();
    wait_for(
        "Prometheus to see the ratio at 0.9",
        Duration::from_secs(20),
        &procs,
        || {
            let p = p.clone();
            async move {
                (support::prom_value(&p, "max(demo_memory_ratio)").await? == 0.9).then_some(())
            }
        },
    )
    .await;
    let daemon = format!("127.0.0.1:{}", free_port());
    let d = procs.dir.path().display().to_string();
    let cfg = format!(
        r#"server: {{ listen: "{daemon}" }}
state_dir: "{d}/state"
results: {{ dir: "{d}/results", retention: 1d }}
safety: {{ allowed_hosts: ["127.0.0.1"] }}
prometheus: {{ url: "{prom}", timeout: 2s }}
scenarios:
  mem:
    schedule: {{ continuous: true }}
    target: {{ base_url: "{target}" }}
    load: {{ executor: constant-vus, vus: 1, duration: 2s }}
    mix: [ {{ name: ok, request: {{ url: /ok }} }} ]
    sut_checks:
      - {{ name: memory_headroom, query: "max(demo_memory_ratio)", threshold: "max<0.75", every: 1s }}
    drills:
      - name: failover
        at: 500ms
        action: {{ url: "{target}/_control", body: {{ json: {{ failover_5xx: 2 }} }} }}
        duration: 1s
        expect: {{ max_errors_during: 2, recovery: {{ below: 0.01, within: 1s }} }}
    incident: {{ consecutive_breaches: 2 }}
"#
    );
    let cfg_path = procs.dir.path().join("soakd.yaml");
    std::fs::write(&cfg_path, cfg).unwrap();
    procs.spawn(
        "soakd",
        &bin,
        &[
            "run".into(),
            "--config".into(),
            cfg_path.display().to_string(),
        ],
    );
    let metrics = format!("http://{daemon}/metrics");
    let thr = format!("threshold=\"{MEMORY}\"");
    let (m, th) = (metrics.clone(), thr.clone());
    let text = wait_for(
        "soakd_incident_open == 1 for the SUT check",
        Duration::from_secs(60),
        &procs,
        || {
            let (m, th) = (m.clone(), th.clone());
            async move {
                let (_, text) = call("GET", &m, None).await.ok()?;
                match gauge(&text, "soakd_incident_open", &th)? {
                    1.0 => Some(text),
                    _ => {
                        // Never open before two consecutive breaches.
                        let c = gauge(&text, "soakd_threshold_consecutive_breaches", &th)?;
                        assert!(c < 2.0, "consecutive {c} but no incident:\n{text}");
                        None
                    }
                }
            }
        },
    )
    .await;
    assert!(gauge(&text, "soakd_threshold_consecutive_breaches", &thr).unwrap() >= 2.0);
    assert_eq!(gauge(&text, "soakd_threshold_observed", &thr), Some(0.9));
    let drill = "drill=\"failover\"";
    assert_eq!(
        gauge(&text, "soakd_drill_passed", drill),
        Some(1.0),
        "{text}"
    );
    let rec = gauge(&text, "soakd_drill_recovery_seconds", drill).expect("recovery gauge");
    assert!((0.0..1.0).contains(&rec), "{rec}\n{text}");
    assert_eq!(
        gauge(
            &text,
            "soakd_threshold_observed",
            "threshold=\"drill:failover:errors<=2\""
        ),
        Some(2.0),
        "{text}"
    );
}
