//! Drill tests of tests/sut.rs, against in-process targets (one per run, so runs can overlap).

use crate::common;
use soakd::run::{RunReport, RunResult};

/// A constant-arrival-rate run of `POST /api/notifications` with a queue outage drill at 2 s.
fn outage_run(target: &str, within: &str) -> String {
    let body = format!(
        r#"
        target: {{ base_url: "${{TARGET}}" }}
        load: {{ executor: constant-arrival-rate, rate: 50, time_unit: 1s, duration: 8s, pre_allocated_vus: 10, max_vus: 20 }}
        mix:
          - name: notify
            request: {{ method: POST, url: /api/notifications, body: {{ json: {{ user: "{{{{ vu }}}}" }} }} }}
        drills:
          - name: queue_outage
            at: 2s
            action: {{ method: POST, url: "${{TARGET}}/_control", body: {{ json: {{ queue_outage_ms: 2000 }} }} }}
            expect:
              recovery: {{ metric: http_req_failed, below: 0.01, within: {within} }}
        "#
    );
    common::config_yaml(target, "t", &body)
}

async fn run_yaml(yaml: String) -> RunReport {
    common::run(common::compile_scenario(&yaml, "t")).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_outage_recovery_is_measured_within_a_second_of_the_targets_drain_time() {
    let (a, b) = (common::start_target().await, common::start_target().await);
    let (lenient, strict) = tokio::join!(
        run_yaml(outage_run(&a.url(), "5s")),
        run_yaml(outage_run(&b.url(), "500ms")),
    );
    for (name, target, report) in [("5s", &a, &lenient), ("500ms", &b, &strict)] {
        let stats = target.stats();
        let truth = stats.queue_drained_at_ms.expect("the outage is over") as f64 / 1000.0;
        let drill = &report.sut.drills[0];
        let measured = drill
            .recovery_seconds
            .expect("recovered before the run's end");
        eprintln!(
            "sut: drill within {name}: measured recovery {measured:.3} s, target drained at \
             {truth:.3} s (rejected {}, accepted {}), fired at {:?} s",
            stats.notifications_rejected, stats.notifications_accepted, drill.fired_at_seconds
        );
        assert!(stats.notifications_rejected > 50, "{stats:?}");
        assert!(
            (measured - truth).abs() <= 1.0,
            "within {name}: measured {measured} vs drained at {truth}"
        );
    }
    let label = |r: &RunReport, l: &str| r.outcomes.iter().find(|o| o.threshold == l).cloned();
    let ok = label(&lenient, "drill:queue_outage:recovery<=5").expect("outcome");
    assert!(!ok.breached && lenient.sut.drills[0].passed, "{ok:?}");
    let bad = label(&strict, "drill:queue_outage:recovery<=0.5").expect("outcome");
    assert!(
        bad.breached && bad.observed.is_some_and(|v| v > 0.5),
        "{bad:?}"
    );
    assert!(!strict.sut.drills[0].passed);
    assert_eq!(strict.result, RunResult::Fail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_drill_counts_its_transient_5xx_and_undoes_at_the_runs_end() {
    let target = common::start_target().await;
    let body = r#"
        target: { base_url: "${TARGET}" }
        load: { executor: constant-arrival-rate, rate: 50, time_unit: 1s, duration: 3s, pre_allocated_vus: 10, max_vus: 20 }
        mix: [ { name: ok, request: { url: /ok } } ]
        drills:
          - name: db_failover
            at: 1s
            action: { url: "${TARGET}/_control", body: { json: { failover_5xx: 3 } } }
            expect: { max_errors_during: 2 }
          - name: slow_db
            at: 1s
            action: { url: "${TARGET}/_control", body: { json: { latency_ms: 1 } } }
            undo: { method: DELETE, url: "${TARGET}/_control" }
            duration: 1h
    "#;
    let yaml = common::config_yaml(&target.url(), "t", body);
    let report = run_yaml(yaml).await;
    let d = &report.sut.drills[0];
    assert_eq!(d.errors_during, Some(3), "{d:?}");
    let o = report
        .outcomes
        .iter()
        .find(|o| o.threshold == "drill:db_failover:errors<=2")
        .unwrap();
    assert!(o.breached && o.observed == Some(3.0), "{o:?}");
    assert_eq!(target.stats().failover_5xx_served, 3);
    // The undo due in an hour fired when the run ended: no fault is left behind.
    assert!(
        target.faults().get().is_clean(),
        "{:?}",
        target.faults().get()
    );
}
