//! `rate_of: requests` and faithful mixes (issue 17, item 3): an arrival rate written in
//! requests per second is met as requests per second whatever the journeys' lengths, and the
//! summary's `mix` shows each entry's intended and achieved share of iterations and requests.
//! Runs are real (constant-arrival-rate against the in-process calibration target).

#[path = "common/mod.rs"]
mod common;

use soakd::report::Summary;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_rate_is_met_in_requests_with_a_two_request_journey_in_the_mix() {
    let target = common::start_target().await;
    let scenario = common::scenario(
        &target,
        r#"
        load: { executor: constant-arrival-rate, rate: 120, rate_of: requests, time_unit: 1s, duration: 4s, pre_allocated_vus: 20, max_vus: 40 }
        target: { base_url: "${TARGET}" }
        mix:
          - { name: read, weight: 1, request: { url: /ok } }
          - name: browse
            weight: 1
            steps:
              - { request: { url: /ok } }
              - { request: { url: /ok } }
        "#,
    );
    // One iteration sends (1 + 2) / 2 = 1.5 requests on average: 80 iterations/s.
    assert_eq!(scenario.requests_per_iteration, 1.5);
    assert_eq!(scenario.load.executor.peak_rate(), Some(80.0));
    let (report, _) = common::run(scenario).await;
    let s = Summary::from_report(&report);
    let m = &s.metrics;
    // 120 requests/s for 4 s, within 2 % (issue 17's acceptance).
    common::assert_within_pct("requests", m.requests_total as f64, 480.0, 2.0);
    common::assert_within_pct("iterations", m.iterations as f64, 320.0, 2.0);

    let share = |entry: &str| s.mix.iter().find(|x| x.entry == entry).unwrap().clone();
    let (read, browse) = (share("read"), share("browse"));
    assert_eq!(read.intended_iterations, 0.5);
    assert!((read.intended_requests - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(browse.intended_iterations, 0.5);
    assert!((browse.intended_requests - 2.0 / 3.0).abs() < 1e-9);
    for x in [&read, &browse] {
        assert!(
            (x.achieved_iterations - x.intended_iterations).abs() <= 0.03,
            "{x:?}"
        );
        assert!(
            (x.achieved_requests - x.intended_requests).abs() <= 0.03,
            "{x:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_80_15_5_mix_comes_out_80_15_5_in_a_short_run() {
    let target = common::start_target().await;
    let scenario = common::scenario(
        &target,
        r#"
        load: { executor: constant-arrival-rate, rate: 50, time_unit: 1s, duration: 2s, pre_allocated_vus: 10, max_vus: 20 }
        target: { base_url: "${TARGET}" }
        mix:
          - { name: read, weight: 80, request: { url: /ok } }
          - { name: write, weight: 15, request: { method: POST, url: /echo, body: { json: { a: 1 } } } }
          - { name: delete, weight: 5, request: { method: DELETE, url: /echo } }
        "#,
    );
    let (report, _) = common::run(scenario).await;
    let s = Summary::from_report(&report);
    // 100 iterations: golden-ratio draws keep every share within 2 iterations of its weight.
    for x in &s.mix {
        let n = s.metrics.iterations as f64;
        assert!(
            (x.achieved_iterations - x.intended_iterations).abs() * n <= 2.0,
            "{x:?} over {n} iterations"
        );
    }
    assert_eq!(s.mix.len(), 3);
}
