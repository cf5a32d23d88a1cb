//! Acceptance of realistic traffic (issue 5), verified from the calibration target's side:
//! journeys carry an extracted id, data pools hand out rows per VU / once / wrapping, secrets
//! stay secret, Stripe-style signatures verify, pagination follows exactly the served pages,
//! and WebSocket sessions record round trips and drops that thresholds judge.

mod common;
#[path = "traffic/support.rs"]
mod support;

use common::{run, run_ctl, scenario, start_target};
use soakd::report::{Summary, render};
use soakd::run::{RunControl, RunResult};
use soakd::telemetry::Metrics;
use std::time::Duration;
use support::{Captured, capture, http, json_pool, scenario_in};

fn breached(r: &soakd::run::RunReport, threshold: &str) -> bool {
    r.outcomes
        .iter()
        .find(|o| o.threshold == threshold)
        .unwrap_or_else(|| panic!("no threshold {threshold} in {:?}", r.outcomes))
        .breached
}

// ---------------------------------------------------------------- journeys

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journey_carries_the_extracted_id_to_its_second_step_in_every_iteration() {
    let t = start_target().await;
    let s = scenario(
        &t,
        r#"
        target: { base_url: "${TARGET}" }
        load: { executor: shared-iterations, vus: 5, iterations: 100 }
        mix:
          - name: create_then_read
            steps:
              - name: create
                request: { method: POST, url: /api/items, body: { json: { title: "by vu {{ vu }}" } } }
                extract: { id: { json: "$.id" } }
                checks: [ { status: [201] } ]
              - think: 1ms..5ms
              - name: read
                request: { url: "/api/items/{{ var.id }}" }
                checks: [ { status: [200] } ]
        thresholds:
          journeys: ["rate>=0.99"]
          "journeys{journey:create_then_read}": ["rate>=0.99"]
        "#,
    );
    let (r, _) = run(s).await;
    let st = t.stats();
    assert_eq!(r.snapshot.iterations, 100);
    assert_eq!(st.items_created, 100);
    assert_eq!(st.items_fetched_ok, 100, "every read found its own item");
    assert_eq!(st.items_fetched_unknown, 0);
    assert!(!breached(&r, "journeys:rate>=0.99"));
    assert_eq!(r.result, RunResult::Pass, "{:?}", r.outcomes);
    let summary = Summary::from_report(&r);
    let j = &summary.journeys["create_then_read"];
    assert_eq!((j.ok, j.failed), (100, 0));
    assert!(summary.websocket.is_none());
}

// ---------------------------------------------------------------- data pools

fn tokens(prefix: &str, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("{prefix}-{i}")).collect()
}

const WHOAMI: &str = r#"
mix:
  - name: whoami
    request: { url: /api/whoami, headers: { Authorization: "Bearer {{ data.users.token }}" } }
    checks: [ { status: [200] } ]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_vu_pool_gives_each_of_5_vus_its_own_token() {
    let t = start_target().await;
    let dir = tempfile::tempdir().unwrap();
    json_pool(dir.path(), "users.json", "token", &tokens("vu-token", 5));
    let s = scenario_in(
        dir.path(),
        &t.url(),
        "data: { users: { file: users.json, pick: per_vu } }",
        &format!(
            "target: {{ base_url: \"${{TARGET}}\" }}\n\
             load: {{ executor: per-vu-iterations, vus: 5, iterations: 4 }}\n{WHOAMI}"
        ),
    );
    let (r, _) = run(s).await;
    assert_eq!(r.snapshot.iterations, 20);
    let seen = t.stats().tokens_seen;
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert!(
        seen.values().all(|n| *n == 4),
        "each VU kept its token: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_pool_hands_out_each_row_once_then_ends_the_run() {
    let t = start_target().await;
    let dir = tempfile::tempdir().unwrap();
    json_pool(dir.path(), "users.json", "token", &tokens("once", 10));
    let s = scenario_in(
        dir.path(),
        &t.url(),
        "data: { users: { file: users.json, pick: unique, on_exhausted: stop } }",
        &format!(
            "target: {{ base_url: \"${{TARGET}}\" }}\n\
             load: {{ executor: constant-vus, vus: 3, duration: 20s }}\n{WHOAMI}"
        ),
    );
    let (r, took) = run(s).await;
    assert_eq!(r.snapshot.iterations, 10);
    assert!(took < Duration::from_secs(5), "ended by itself: {took:?}");
    assert_ne!(r.result, RunResult::Aborted);
    let seen = t.stats().tokens_seen;
    assert_eq!(seen.len(), 10);
    assert!(seen.values().all(|n| *n == 1), "no row repeats: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_pool_with_wrap_starts_over() {
    let t = start_target().await;
    let dir = tempfile::tempdir().unwrap();
    json_pool(dir.path(), "users.json", "token", &tokens("wrap", 10));
    let s = scenario_in(
        dir.path(),
        &t.url(),
        "data: { users: { file: users.json, pick: unique, on_exhausted: wrap } }",
        &format!(
            "target: {{ base_url: \"${{TARGET}}\" }}\n\
             load: {{ executor: constant-vus, vus: 2, duration: 1s }}\n{WHOAMI}"
        ),
    );
    let (r, _) = run(s).await;
    assert!(r.snapshot.iterations > 10, "{}", r.snapshot.iterations);
    let seen = t.stats().tokens_seen;
    assert_eq!(seen.len(), 10);
    let (lo, hi) = (seen.values().min().unwrap(), seen.values().max().unwrap());
    assert!(hi - lo <= 1, "rows go round evenly: {seen:?}");
}

/// Runs on one thread so the thread-local log capture sees every task of the run.
#[tokio::test]
async fn secret_pool_values_appear_in_no_summary_metric_or_log() {
    let cap = Captured::default();
    let _guard = tracing::subscriber::set_default(capture(&cap));
    let t = start_target().await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = tokens("sk_live_9f8e7d", 3);
    std::fs::write(
        dir.path().join("keys.csv"),
        format!(
            "key,label\n{}\n",
            secrets
                .iter()
                .map(|s| format!("{s},k"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    )
    .unwrap();
    let s = scenario_in(
        dir.path(),
        &t.url(),
        "data: { keys: { file: keys.csv, pick: round_robin, secret: true } }",
        r#"
        target: { base_url: "${TARGET}" }
        load: { executor: shared-iterations, vus: 2, iterations: 12 }
        mix:
          - name: whoami
            request: { url: "/api/whoami?k={{ data.keys.key }}", headers: { Authorization: "Bearer {{ data.keys.key }}" } }
            checks: [ { status: [200] }, { name: fails on purpose, status: [299] } ]
          - name: missing
            weight: 0.001
            request: { url: "/status/404?k={{ data.keys.key }}" }
        thresholds:
          checks: ["rate>=0.99"]
        "#,
    );
    let metrics = Metrics::new();
    let sink = metrics.scenario_sink("t", &s.requests);
    tracing::info!(scenario = ?s, "starting");
    let ctl = RunControl::new(s, Some(sink));
    let (r, _) = run_ctl(ctl).await;
    metrics.run_finished("t", r.result.as_str(), 0.0, &r.outcomes, &[]);
    assert_eq!(r.snapshot.iterations, 12);
    // The target did get the secrets: the run really used them.
    assert_eq!(t.stats().tokens_seen.len(), 3);
    let summary = Summary::from_report(&r);
    let places = [
        (
            "summary JSON",
            serde_json::to_string_pretty(&summary).unwrap(),
        ),
        ("terminal summary", render(&summary)),
        ("/metrics", metrics.encode()),
        ("logs", cap.text()),
    ];
    for (what, text) in &places {
        assert!(!text.is_empty(), "{what} is empty");
        assert!(
            !text.contains("sk_live_9f8e7d"),
            "a secret leaked into the {what}:\n{text}"
        );
    }
    let logs = cap.text();
    println!("{} bytes of logs captured", logs.len());
    assert!(logs.contains("starting"), "the capture works");
}

// ---------------------------------------------------------------- signed webhooks

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_target_verifies_every_stripe_signed_webhook() {
    const VAR: &str = "SOAKD_TRAFFIC_TEST_WEBHOOK_SECRET_5E1";
    // SAFETY: this variable is read only by this test's templates.
    unsafe { std::env::set_var(VAR, "whsec_test_4242") };
    let t = start_target().await;
    let (code, _) = http(
        t.addr(),
        "POST",
        "/_control",
        r#"{"webhook_secret":"whsec_test_4242"}"#,
    )
    .await;
    assert_eq!(code, 200);
    let (_, shown) = http(t.addr(), "GET", "/_control", "").await;
    assert!(
        !shown.contains("whsec_test_4242"),
        "GET /_control echoes the secret: {shown}"
    );
    let s = scenario(
        &t,
        &format!(
            r#"
        target: {{ base_url: "${{TARGET}}" }}
        load: {{ executor: shared-iterations, vus: 4, iterations: 100 }}
        mix:
          - name: webhook
            request:
              method: POST
              url: /webhooks/stripe
              headers:
                Stripe-Signature: "t={{{{ ts }}}},v1={{{{ hmac_sha256_hex(env.{VAR}, ts ~ '.' ~ body) }}}}"
              body: {{ json: {{ id: "evt_{{{{ uuid() }}}}", type: payment_intent.succeeded, amount: "{{{{ random_int(1, 9999) }}}}" }} }}
            checks: [ {{ status: [200] }} ]
        thresholds:
          http_req_failed: ["rate==0"]
        "#
        ),
    );
    let (r, _) = run(s).await;
    let st = t.stats();
    assert_eq!(st.webhooks_valid, 100);
    assert_eq!(st.webhooks_invalid, 0);
    assert_eq!(st.webhooks_duplicate, 0);
    assert_eq!(r.result, RunResult::Pass, "{:?}", r.outcomes);
    // A wrong secret is caught by the same target.
    t.set_webhook_secret(Some("another".into()));
    let (code, _) = http(t.addr(), "POST", "/webhooks/stripe", r#"{"id":"evt_x"}"#).await;
    assert_eq!(code, 400);
    assert_eq!(t.stats().webhooks_invalid, 1);
}

// ---------------------------------------------------------------- pagination

async fn paginate(max_pages: u32) -> (u64, u64, u64) {
    let t = start_target().await;
    let s = scenario(
        &t,
        &format!(
            r#"
        target: {{ base_url: "${{TARGET}}" }}
        load: {{ executor: shared-iterations, vus: 2, iterations: 10 }}
        mix:
          - name: activity
            request: {{ url: "/api/activity?page_size=50" }}
            paginate: {{ next: "$.next_cursor", max_pages: {max_pages} }}
            checks: [ {{ json: {{ path: "$.items[49].id", exists: true }} }} ]
        "#
        ),
    );
    let (r, _) = run(s).await;
    let (requests, failed) = r.snapshot.request_counts(0);
    assert_eq!(failed, 0);
    (
        r.snapshot.iterations,
        requests,
        t.stats().activity_pages_served,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_stops_at_max_pages() {
    assert_eq!(
        paginate(3).await,
        (10, 30, 30),
        "3 of 5 pages per iteration"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_follows_exactly_the_pages_served() {
    assert_eq!(
        paginate(10).await,
        (10, 50, 50),
        "all 5 pages, then no cursor"
    );
}

// ---------------------------------------------------------------- WebSocket

fn chat(t: &testbed::TargetHandle, reconnect: bool) -> std::sync::Arc<soakd::plan::Scenario> {
    scenario(
        t,
        &format!(
            r#"
        target: {{ base_url: "${{TARGET}}" }}
        load: {{ executor: constant-vus, vus: 20, duration: 2s }}
        mix:
          - name: chat
            websocket:
              url: /ws/chat
              subprotocol: chat.v1
              duration: 3s
              send_every: 300ms
              message: {{ text: "hello from {{{{ vu }}}}" }}
              reply_timeout: 2s
              reconnect: {reconnect}
        thresholds:
          ws_sessions_dropped: ["rate<0.01"]
          ws_msg_latency: ["p(95)<2000"]
          ws_msgs_received: ["count>0"]
        "#
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_vus_chat_for_3_seconds_with_round_trips_and_no_drops() {
    let t = start_target().await;
    let (r, _) = run(chat(&t, false)).await;
    let ws = r.snapshot.ws();
    println!(
        "chat: {} sessions, {} sent, {} received, {} round trips, {} lost",
        ws.sessions,
        ws.sent,
        ws.received,
        ws.msg_latency.len(),
        ws.lost
    );
    assert_eq!(ws.sessions, 20, "one 3 s session per VU");
    assert_eq!(ws.dropped, 0);
    assert_eq!(ws.lost, 0, "every message got its echo");
    assert!(
        ws.msg_latency.len() >= 100,
        "{} round trips",
        ws.msg_latency.len()
    );
    assert!(
        ws.received > ws.sent,
        "a broadcast room: everyone hears everyone"
    );
    assert!(!breached(&r, "ws_sessions_dropped:rate<0.01"));
    assert_eq!(r.result, RunResult::Pass, "{:?}", r.outcomes);
    assert!(t.stats().ws_connections >= 20);
    let w = Summary::from_report(&r)
        .websocket
        .expect("websocket summary");
    assert_eq!((w.sessions, w.dropped), (ws.sessions, 0));
    assert!(w.msg_latency_ms.p50 > 0.0 && w.connecting_ms.max > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drops_forced_by_the_target_are_counted_and_fail_the_threshold() {
    let t = start_target().await;
    t.faults().patch_json(br#"{"ws_drop_rate":1.0}"#).unwrap();
    let (r, _) = run(chat(&t, false)).await;
    let ws = r.snapshot.ws();
    println!(
        "chat with drops: {} sessions, {} dropped",
        ws.sessions, ws.dropped
    );
    assert!(ws.sessions >= 20);
    assert_eq!(ws.dropped, ws.sessions, "every connection was cut");
    assert_eq!(ws.reconnects, 0);
    assert!(t.stats().ws_dropped >= 20);
    assert!(breached(&r, "ws_sessions_dropped:rate<0.01"));
    assert_eq!(r.result, RunResult::Fail);
    let text = render(&Summary::from_report(&r));
    assert!(text.contains("ws_sessions_dropped"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_session_reconnects_when_allowed() {
    let t = start_target().await;
    t.faults().patch_json(br#"{"ws_drop_rate":1.0}"#).unwrap();
    let (r, _) = run(chat(&t, true)).await;
    let ws = r.snapshot.ws();
    assert!(ws.reconnects >= 20, "{} reconnects", ws.reconnects);
    assert_eq!(ws.dropped, ws.sessions);
}

// ---------------------------------------------------------------- example config

#[test]
fn the_traffic_example_config_compiles() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples/traffic.yaml");
    let loaded = soakd::config::load_file(&path).unwrap();
    let plan = soakd::plan::compile_loaded(&loaded).unwrap_or_else(|errs| {
        panic!(
            "{}",
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    let s = &plan.scenarios;
    assert!(s.len() >= 2, "{:?}", s.keys());
    let all = s.values().flat_map(|sc| sc.requests.iter());
    let methods: Vec<&str> = all.map(|m| m.method.as_str()).collect();
    assert!(methods.contains(&"WS"), "a WebSocket session");
    assert!(s.values().any(|sc| !sc.pools.is_empty()), "a data pool");
}
