//! Safety rails: hosts outside `safety.allowed_hosts` are never loaded, whether the URL is
//! static (refused at check time) or rendered from a template (refused at request time), and a
//! scenario that could create too many Prometheus series is refused at check time.

mod common;

use common::{compile_scenario, run, start_target};
use soakd::config::load_str;
use soakd::plan::compile_loaded;
use soakd::verdict::RunNumbers;

fn errors(yaml: &str) -> Vec<String> {
    let loaded = load_str("safety.yaml", yaml, Some(Default::default())).expect("loads");
    match compile_loaded(&loaded) {
        Ok(_) => Vec::new(),
        Err(errs) => errs.iter().map(|e| e.to_string()).collect(),
    }
}

#[tokio::test]
async fn a_templated_url_to_a_host_outside_the_allow_list_is_never_sent() {
    let target = start_target().await;
    let port = target.addr().port();
    let yaml = format!(
        r#"
safety: {{ allowed_hosts: ["127.0.0.1"] }}
scenarios:
  t:
    target: {{ base_url: "{url}" }}
    load: {{ executor: shared-iterations, vus: 2, iterations: 20 }}
    mix:
      - {{ name: sneaky, request: {{ url: "http://{{{{ var.host | default('localhost') }}}}:{port}/ok" }} }}
"#,
        url = target.url()
    );
    let (report, _) = run(compile_scenario(&yaml, "t")).await;
    let (total, failed) = report.snapshot.requests(&Default::default());
    assert_eq!(
        (total, failed),
        (20, 20),
        "every request is refused and counted as failed"
    );
    let reasons: Vec<_> = report
        .snapshot
        .request_reasons(0)
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(
        reasons,
        vec![(soakd::client::FailureReason::NotAllowed, 20)]
    );
    assert_eq!(target.stats().requests_total, 0, "the target saw nothing");
}

#[test]
fn a_static_url_outside_the_allow_list_is_a_config_error() {
    let errs = errors(
        r#"
safety: { allowed_hosts: ["staging.example.com"] }
scenarios:
  t:
    target: { base_url: "http://127.0.0.1:9" }
    load: { executor: constant-vus, vus: 1, duration: 1s }
    mix: [ { name: a, request: { url: /ok } } ]
"#,
    );
    assert_eq!(
        errs,
        vec![
            r#"safety.yaml: scenarios.t.target: host "127.0.0.1" is not in safety.allowed_hosts ["staging.example.com"]"#
        ]
    );
}

#[test]
fn a_scenario_over_its_series_budget_is_refused_at_check_time() {
    let errs = errors(
        r#"
safety: { max_series_per_scenario: 300 }
scenarios:
  t:
    target: { base_url: "http://127.0.0.1:9" }
    load: { executor: constant-vus, vus: 1, duration: 1s }
    mix:
      - { name: a, request: { url: /a } }
      - { name: b, request: { url: /b } }
"#,
    );
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("safety.yaml: scenarios.t: could create up to 1320 Prometheus series, above safety.max_series_per_scenario (300)"),
        "{}",
        errs[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_rps_bounds_a_closed_model_at_run_time_measured() {
    let target = start_target().await;
    // Four VUs against /ok would do thousands of requests per second; the ceiling is 50/s.
    let s = common::scenario(
        &target,
        r#"
        target: { base_url: "${TARGET}" }
        load: { executor: constant-vus, vus: 4, duration: 2s }
        mix: [ { name: ok, request: { url: /ok } } ]
        "#,
    );
    let ctl = common::control(s);
    ctl.limit_with(std::sync::Arc::new(soakd::run::Limiter::new(50.0)));
    let (report, took) = common::run_ctl(ctl).await;
    let (total, _) = report.snapshot.requests(&Default::default());
    let ceiling = 50.0 * took.as_secs_f64() + 5.0; // + the 0.1 s burst allowance
    assert!(
        (total as f64) <= ceiling,
        "{total} requests in {took:?}, ceiling {ceiling}"
    );
    assert!(total >= 80, "the ceiling is used, not starved: {total}");
    assert_eq!(target.stats().requests_total, total);
}

#[tokio::test]
async fn redirects_are_never_followed() {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten().take(2) {
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 302 Found\r\nlocation: http://elsewhere.invalid/x\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            );
        }
    });
    let yaml = format!(
        r#"
safety: {{ allowed_hosts: ["127.0.0.1"] }}
scenarios:
  t:
    target: {{ base_url: "http://127.0.0.1:{port}" }}
    load: {{ executor: shared-iterations, vus: 1, iterations: 2 }}
    mix: [ {{ name: r, request: {{ url: /go }}, checks: [ {{ status: [302] }} ] }} ]
"#
    );
    let (report, _) = run(compile_scenario(&yaml, "t")).await;
    let (total, failed) = report.snapshot.requests(&Default::default());
    assert_eq!((total, failed), (2, 0), "the 302 itself is the response");
    assert_eq!(
        report.snapshot.request_checks(0),
        &[[2, 0]],
        "status 302 seen, nothing followed"
    );
}

/// A listener on `ip` that counts the connections it accepts, until the test ends.
fn counting_listener(ip: &str) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let l = std::net::TcpListener::bind((ip, 0)).expect("bind");
    let port = l.local_addr().expect("addr").port();
    let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = n.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            if s.is_ok() {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
    });
    (port, n)
}

#[tokio::test]
async fn a_templated_websocket_url_to_a_loopback_host_outside_the_allow_list_connects_nowhere() {
    let (port, accepted) = counting_listener("127.0.0.2");
    let yaml = format!(
        r#"
safety: {{ allowed_hosts: ["127.0.0.1"] }}
scenarios:
  t:
    load: {{ executor: shared-iterations, vus: 2, iterations: 6 }}
    mix:
      - name: chat
        websocket: {{ url: "ws://{{{{ var.host | default('127.0.0.2') }}}}:{port}/ws", duration: 200ms, reconnect: false }}
"#
    );
    let (report, _) = run(compile_scenario(&yaml, "t")).await;
    let ws = report.snapshot.ws();
    assert_eq!(
        (ws.sessions, ws.connect_failures, ws.sent),
        (6, 6, 0),
        "every session ended unconnected"
    );
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "127.0.0.2 received no connection"
    );
}

#[tokio::test]
async fn a_rendered_url_is_checked_after_normalisation() {
    let (port, accepted) = counting_listener("127.0.0.2");
    // 0x7f000002 is 127.0.0.2; the userinfo "127.0.0.1@" does not make it 127.0.0.1.
    let yaml = format!(
        r#"
safety: {{ allowed_hosts: ["127.0.0.1"] }}
scenarios:
  t:
    load: {{ executor: shared-iterations, vus: 1, iterations: 4 }}
    mix:
      - {{ name: hex, request: {{ url: "http://{{{{ var.host | default('0x7f000002') }}}}:{port}/ok" }} }}
      - {{ name: userinfo, request: {{ url: "http://{{{{ var.user | default('127.0.0.1') }}}}@127.0.0.2:{port}/ok" }} }}
"#
    );
    let (report, _) = run(compile_scenario(&yaml, "t")).await;
    let (total, failed) = report.snapshot.requests(&Default::default());
    assert_eq!((total, failed), (4, 4));
    for i in 0..2 {
        let reasons: Vec<_> = report
            .snapshot
            .request_reasons(i)
            .filter(|(_, n)| *n > 0)
            .map(|(r, _)| r)
            .collect();
        assert_eq!(
            reasons,
            [soakd::client::FailureReason::NotAllowed],
            "request {i}"
        );
    }
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
}
