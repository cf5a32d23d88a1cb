//! The seed plans (`../shared/seeds`, translated in `config/examples/`) run in soakd: every
//! example compiles, every scenario of every example passes against a healthy demo target
//! with `soakd once --time-scale`, a fault profile per example breaches exactly the expected
//! thresholds, and the demo API's own counters show no lost or duplicated webhook and no RSVP
//! above capacity. `sut.yaml` (seeds 000 and 001's system checks and drills) runs the same way
//! with a real Prometheus (a child process on 127.0.0.1, killed by PID) scraping the target:
//! its SUT checks and drills pass on a healthy target, and a restarting worker, a queue that
//! drains too slowly and a slow cache fallback each breach exactly the checks that say so.
//!
//! Each run gets a fresh in-process target (port 0) so its counters belong to that run alone;
//! runs go two at a time, those with a Prometheus and drills alone (see `support::lane`).

mod common;
#[path = "seeds/support.rs"]
mod support;
#[path = "sut/support.rs"]
mod sut_support;

use common::start_target;
use std::collections::BTreeSet;
use std::time::Duration;
use support::{Outcome, WEBHOOK_SECRET, alone, control, examples_dir, lane, once, prepare};
use sut_support::{Procs, start_prometheus};
use testbed::{TargetHandle, TargetStats};

const ACADEMY: &str = "academy-community.yaml";
const PROFILE: &str = "profile-activity.yaml";
const WWMAA: &str = "wwmaa.yaml";
const MINA: &str = "mina.yaml";
const SUT: &str = "sut.yaml";

/// Every scenario of every example, with the time scale that makes its run ~10–24 s.
/// `slo_verification`'s 30 s windows of `http_reqs:rate>=396` allow 1 % under 400/s: 2
/// requests in a 0.6 s window at x0.02, which one 5 ms stall of a loaded 2-core machine takes
/// away, so it runs at x0.04 (4.8 requests in 1.2 s windows).
const RUNS: &[(&str, &str, f64)] = &[
    (ACADEMY, "community_feed", 0.03),           // 7m    → 12.6 s
    (ACADEMY, "community_feed_burst", 0.03),     // 6m    → 10.8 s
    (ACADEMY, "notification_throughput", 0.02),  // 10m   → 12 s
    (ACADEMY, "resilience_soak", 0.002),         // 2h    → 14.4 s
    (PROFILE, "profile_activity", 0.02),         // 9m    → 10.8 s
    (PROFILE, "queue_outage_drill", 0.02),       // 10m   → 12 s
    (PROFILE, "failover_and_cache_purge", 0.02), // 8m   → 9.6 s
    (WWMAA, "search", 0.02),                     // 9m    → 10.8 s
    (WWMAA, "rtc_chat", 0.02),                   // 10m   → 12 s
    (WWMAA, "stripe_webhooks", 0.04),            // 5m    → 12 s
    (WWMAA, "event_rsvp", 0.03),                 // 10m   → 18 s (demand 15, 12 seats)
    (WWMAA, "page_load", 0.015),                 // 15m   → 13.5 s
    (WWMAA, "api_endpoints", 0.04),              // 5m    → 12 s
    (MINA, "api_read", 0.012),                   // 13.5m → 9.7 s
    (MINA, "api_write", 0.02),                   // 8.5m  → 10.2 s
    (MINA, "mixed_workload", 0.012),             // 21m   → 15.1 s
    (MINA, "slo_verification", 0.04),            // 10m   → 24 s
    (SUT, "resilience_soak", 0.002),             // 2h    → 14.4 s
    (SUT, "queue_outage", 0.02),                 // 10m   → 12 s
    (SUT, "db_failover", 0.05),                  // 5m    → 15 s
    (SUT, "cache_purge", 0.03),                  // 6m    → 10.8 s
];

/// What each `sut.yaml` run is judged on besides its thresholds, as labelled at that run's
/// scale (a drill's recovery bound is scaled with the timeline): present and passing on a
/// healthy target.
const SUT_VERDICTS: &[(&str, &[&str])] = &[
    (
        "resilience_soak",
        &[
            "sut:memory_headroom:max<0.75",
            "sut:worker_restarts:increase<1",
            "sut:served:increase>0",
            "http_req_failed:rate<0.01[5m]",
        ],
    ),
    (
        "queue_outage",
        &["sut:queue_drained:last<1", "drill:queue_outage:recovery<=6"],
    ),
    (
        "db_failover",
        &[
            "drill:db_failover:errors<=2",
            "drill:db_failover:recovery<=1.5",
        ],
    ),
    (
        "cache_purge",
        &[
            "http_req_duration:p(95)<200[1m]",
            "drill:cache_purge:errors<=0",
        ],
    ),
];

/// A fresh target that verifies webhook signatures with the runs' secret.
async fn target() -> TargetHandle {
    let t = start_target().await;
    t.set_webhook_secret(Some(WEBHOOK_SECRET.to_owned()));
    t
}

/// Runs `scenario` of `file` against `t` (after `fault`, a `/_control` body, if any), its SUT
/// checks against `prometheus`.
async fn run_on(
    t: &TargetHandle,
    file: &str,
    scenario: &str,
    scale: f64,
    fault: &str,
    prometheus: Option<&str>,
) -> Outcome {
    if !fault.is_empty() {
        control(t.addr(), fault).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = prepare(dir.path(), file, &t.url(), prometheus, scale);
    let out = once(&config, scenario, scale).await;
    eprintln!(
        "{file} {scenario} x{scale} fault={fault:?}: exit {} in {:.1?}",
        out.code, out.took
    );
    out
}

/// The demo API's ground truth after a run: nothing lost, duplicated or overbooked.
fn assert_counters(scenario: &str, s: &TargetStats, out: &Outcome) {
    assert_eq!(
        s.demo.rsvp_overbooked, 0,
        "{scenario}: an event was overbooked"
    );
    assert!(
        s.demo.rsvp_accepted <= s.demo.rsvp_capacity,
        "{scenario}: {} RSVPs accepted above capacity {}",
        s.demo.rsvp_accepted,
        s.demo.rsvp_capacity
    );
    assert_eq!(
        s.webhooks_duplicate,
        out.requests("redelivery"),
        "{scenario}: only the deliberate redeliveries are duplicates"
    );
    assert_eq!(
        s.webhooks_invalid, 0,
        "{scenario}: a webhook failed verification"
    );
    let sent: u64 = [
        "payment_succeeded",
        "first_delivery",
        "subscription_updated",
        "invoice_paid",
        "payment_failed",
        "subscription_deleted",
    ]
    .iter()
    .map(|n| out.requests(n))
    .sum();
    assert_eq!(
        s.webhooks_valid, sent,
        "{scenario}: webhooks lost ({sent} sent)"
    );
}

/// The verdict of threshold `label` in the summary: Some(breached), None when absent.
fn verdict(out: &Outcome, label: &str) -> Option<bool> {
    out.summary["thresholds"]
        .as_array()?
        .iter()
        .find(|t| t["threshold"] == label)
        .and_then(|t| t["breached"].as_bool())
}

async fn healthy(file: &str) {
    let runs: Vec<_> = RUNS.iter().filter(|r| r.0 == file).collect();
    assert!(!runs.is_empty());
    for &&(file, scenario, scale) in &runs {
        let _lane = if file == SUT {
            alone().await
        } else {
            lane().await
        };
        let t = target().await;
        let mut procs = Procs::new();
        let prom = match file {
            SUT => Some(start_prometheus(&mut procs, &t.addr().to_string()).await),
            _ => None,
        };
        let out = run_on(&t, file, scenario, scale, "", prom.as_deref()).await;
        assert_eq!(
            out.code,
            0,
            "{file} {scenario} must pass on a healthy target: {}{}",
            out.describe(),
            procs.logs()
        );
        // A bound against a hang, not a speed test: scaled seed runs last ~10 s here, and a
        // loaded 2-core machine has been seen to stretch one to 23 s.
        assert!(out.took.as_secs() <= 45, "{scenario} took {:?}", out.took);
        let stats = t.stats();
        assert_counters(scenario, &stats, &out);
        assert_rate_and_mix(file, scenario, scale, &out);
        let drills = out.summary["drills"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            drills
                .iter()
                .all(|d| d["passed"] == true && d["fired_at_seconds"].is_number()),
            "{scenario}: every drill fired and passed: {drills:?}"
        );
        if scenario.contains("drill") || scenario.contains("failover") {
            assert!(!drills.is_empty(), "{scenario}: its drills ran");
        }
        if scenario == "event_rsvp" {
            // Over-capacity demand: the seats (400 × scale) all taken, the rest turned away.
            let seats = (400.0 * scale).round() as u64;
            assert_eq!(
                stats.demo.rsvp_capacity, seats,
                "the drill opened the event"
            );
            assert_eq!(stats.demo.rsvp_accepted, seats, "every seat booked");
            assert!(stats.demo.rsvp_rejected > 0, "demand above capacity");
            let first = out.requests("submit_rsvp") + out.requests("submit_rsvp_first");
            assert_eq!(
                stats.demo.rsvp_accepted + stats.demo.rsvp_rejected,
                first + out.requests("rsvp_repeat") - stats.demo.rsvp_duplicate,
                "every RSVP answered confirmed, full or duplicate"
            );
            for label in [
                "http_reqs{group:rsvp,status:201}:count<=400",
                "http_reqs{group:rsvp,status:409}:count>0",
                "checks{request:submit_rsvp}:rate==1",
                "checks{request:rsvp_repeat}:rate==1",
            ] {
                assert_eq!(verdict(&out, label), Some(false), "{label} passes");
            }
        }
        if file == SUT {
            let (_, labels) = SUT_VERDICTS
                .iter()
                .find(|v| v.0 == scenario)
                .expect("every sut.yaml scenario has its verdicts listed");
            for label in *labels {
                assert_eq!(
                    verdict(&out, label),
                    Some(false),
                    "{scenario}: {label} judged and passed: {}",
                    out.describe()
                );
            }
            match scenario {
                "queue_outage" => {
                    assert!(stats.notifications_rejected > 0, "the outage shed work");
                    assert_eq!(stats.queue_depth, 0, "drained by the run's end");
                }
                "cache_purge" => {
                    assert_eq!(stats.cache_purges, 1, "the drill purged the cache");
                    assert!(stats.cache_misses > 0, "reads went through the fallback");
                }
                "db_failover" => assert_eq!(stats.failover_5xx_served, 2),
                _ => assert_eq!(stats.worker_restarts, 0),
            }
        }
        if scenario == "stripe_webhooks" {
            assert!(stats.webhooks_valid > 0, "no webhook arrived");
            assert!(stats.webhooks_duplicate > 0, "redeliveries were sent");
            assert_eq!(
                verdict(&out, "checks{request:redelivery}:rate==1"),
                Some(false)
            );
        }
    }
}

/// The seed's numbers, achieved: an open-model scenario sends its planned requests (the plan's
/// iterations times its requests per iteration, `--time-scale` applied) within 3 %, and every
/// mix entry's share of requests is within 3 points of the plan's. Left out, with a note:
/// scenarios whose requests per iteration are not fixed (pagination) or not HTTP (WebSocket
/// sessions), and closed models, whose think times `--time-scale` keeps (a 9 s journey in a
/// 15 s scaled run is cut short, so its request share there says nothing about the plan).
fn assert_rate_and_mix(file: &str, scenario: &str, scale: f64, out: &Outcome) {
    let loaded = soakd::config::load_file(&examples_dir().join(file)).expect("example loads");
    let plan = soakd::plan::compile_loaded(&loaded).expect("example compiles");
    let s = plan.scenarios[scenario].time_scaled(scale);
    let variable = s
        .mix
        .iter()
        .flat_map(|m| m.steps.iter())
        .any(|st| match st {
            soakd::plan::Step::Request(r) => r.paginate.is_some(),
            soakd::plan::Step::WebSocket(_) => true,
            _ => false,
        });
    let sent = out.summary["metrics"]["requests_total"]
        .as_f64()
        .unwrap_or(0.0);
    let open = s.load.executor.peak_rate().is_some();
    match s.load.executor.expected_iterations() {
        Some(it) if !variable && open => {
            let planned = it * s.requests_per_iteration;
            // 3 %, or one iteration at each end of the run for the smallest scaled runs.
            let slack = (planned * 0.03).max(2.0 * s.requests_per_iteration.max(1.0));
            assert!(
                (sent - planned).abs() <= slack,
                "{scenario}: sent {sent} requests, the plan asks for {planned:.0} (±{slack:.1})"
            );
        }
        _ => eprintln!(
            "{scenario}: closed model or variable requests per iteration: rate not checked"
        ),
    }
    // 3 points, or one iteration of the longest entry for the smallest scaled runs (event_rsvp
    // registers 15 times at its scale: its 5 % double-submit is 0 or 1 iteration).
    let longest = s
        .mix
        .iter()
        .map(|m| {
            m.steps
                .iter()
                .filter(|st| matches!(st, soakd::plan::Step::Request(_)))
                .count()
        })
        .max()
        .unwrap_or(1) as f64;
    let tol = 0.03f64.max(longest / sent.max(1.0));
    for share in out.summary["mix"].as_array().into_iter().flatten() {
        let (want, got) = (
            share["intended_requests"].as_f64().unwrap_or(0.0),
            share["achieved_requests"].as_f64().unwrap_or(0.0),
        );
        assert!(
            variable || !open || (want - got).abs() <= tol,
            "{scenario}: entry {} sent {:.1} % of the requests, the plan {:.1} %",
            share["entry"],
            got * 100.0,
            want * 100.0
        );
    }
}

/// Like `faulty`, for faults that break the demo API's own ground truth (overbooking,
/// reprocessing): the counters are the test's to assert.
async fn faulty_unchecked(
    file: &str,
    scenario: &str,
    scale: f64,
    fault: &str,
    expected: &[&str],
) -> (Outcome, TargetStats) {
    let _lane = lane().await;
    let t = target().await;
    let out = run_on(&t, file, scenario, scale, fault, None).await;
    let want: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
    assert_eq!(out.code, 99, "{scenario} under {fault}: {}", out.describe());
    assert_eq!(
        out.breached(),
        want,
        "{scenario} under {fault}: {}",
        out.describe()
    );
    (out, t.stats())
}

/// Runs a faulty scenario and asserts exit 99 with exactly `expected` breached.
async fn faulty(
    file: &str,
    scenario: &str,
    scale: f64,
    fault: &str,
    expected: &[&str],
) -> (Outcome, TargetStats) {
    let (out, stats) = faulty_unchecked(file, scenario, scale, fault, expected).await;
    assert_counters(scenario, &stats, &out);
    (out, stats)
}

// ------------------------------------------------------------------ (a) compile

#[test]
fn every_example_compiles_and_every_scenario_has_a_run() {
    for file in [ACADEMY, PROFILE, WWMAA, MINA, SUT] {
        let loaded = soakd::config::load_file(&examples_dir().join(file))
            .unwrap_or_else(|e| panic!("{file} does not load:\n{e}"));
        assert!(loaded.errors.is_empty(), "{file}: {:?}", loaded.errors);
        let plan = soakd::plan::compile_loaded(&loaded).unwrap_or_else(|errs| {
            let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
            panic!("{file} does not compile:\n{}", msgs.join("\n"))
        });
        let have: BTreeSet<&str> = plan.scenarios.keys().map(String::as_str).collect();
        let runs: BTreeSet<&str> = RUNS.iter().filter(|r| r.0 == file).map(|r| r.1).collect();
        assert_eq!(have, runs, "{file}: every scenario is run by this test");
    }
}

// ------------------------------------------------------------------ (b) healthy

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn academy_community_passes_on_a_healthy_target() {
    healthy(ACADEMY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_activity_passes_on_a_healthy_target() {
    healthy(PROFILE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wwmaa_passes_on_a_healthy_target() {
    healthy(WWMAA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mina_passes_on_a_healthy_target() {
    healthy(MINA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sut_checks_and_drills_pass_on_a_healthy_target() {
    healthy(SUT).await;
}

// ------------------------------------------------------------------ (c) faults

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_notification_queue_breaches_only_the_dispatch_checks() {
    // Every dispatch is still accepted (202, fast), but reports 6 s of queue latency.
    faulty(
        ACADEMY,
        "notification_throughput",
        0.01,
        r#"{"queue_latency_ms": 6000}"#,
        &["checks{request:dispatch}:rate>=0.99"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_activity_breaches_latency_but_not_errors_when_the_api_slows_to_900_ms() {
    faulty(
        PROFILE,
        "profile_activity",
        0.01,
        r#"{"latency_ms": 900}"#,
        &["http_req_duration:p(95)<800"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_overbooks_breaches_the_capacity_thresholds() {
    // The target confirms every RSVP: more confirmations than seats, and no 409 at all.
    let (out, stats) = faulty_unchecked(
        WWMAA,
        "event_rsvp",
        0.03,
        r#"{"rsvp_overbook": true}"#,
        &[
            "http_reqs{group:rsvp,status:201}:count<=400",
            "http_reqs{group:rsvp,status:409}:count>0",
        ],
    )
    .await;
    assert!(stats.demo.rsvp_overbooked > 0, "{}", out.describe());
    assert_eq!(stats.demo.rsvp_rejected, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_receiver_without_idempotency_breaches_the_duplicate_checks() {
    let (out, stats) = faulty_unchecked(
        WWMAA,
        "stripe_webhooks",
        0.02,
        r#"{"webhook_dedup": false}"#,
        &["checks:rate==1", "checks{request:redelivery}:rate==1"],
    )
    .await;
    assert_eq!(stats.webhooks_duplicate, out.requests("redelivery"));
    assert!(stats.webhooks_duplicate > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mina_read_slo_breaches_p95_and_p99_but_not_p50_under_a_slow_tail() {
    // 20% of requests stall 1.6 s: the tail breaks, the median holds, nothing errors.
    faulty(
        MINA,
        "api_read",
        0.008,
        r#"{"stall_ms": 1600, "stall_rate": 0.2}"#,
        &[
            "http_req_duration{group:api_read}:p(95)<800",
            "http_req_duration{group:api_read}:p(99)<1500",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_that_drains_too_slowly_breaches_only_the_outage_drills_recovery() {
    // Workers drain 1 job/s: the outage's backlog outlives the 5 min (scaled) recovery bound,
    // while profile reads stay fast and error-free.
    let (out, stats) = faulty(
        PROFILE,
        "queue_outage_drill",
        0.01,
        r#"{"queue_drain_per_sec": 1}"#,
        &["drill:queue_outage:recovery<=3"],
    )
    .await;
    assert!(
        stats.notifications_rejected > 0,
        "the outage shed notifications"
    );
    assert_eq!(out.summary["drills"][0]["passed"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_cache_fallback_breaches_only_the_profile_purge_minute() {
    // 400 ms reads while the cache is rebuilt: the purge's stage breaks p95 < 200 ms, the
    // whole run's p95 < 800 ms holds (the purge is an eighth of the run), nothing fails.
    let (out, stats) = faulty(
        PROFILE,
        "failover_and_cache_purge",
        0.02,
        r#"{"cache_fallback_ms": 400}"#,
        &["http_req_duration{stage:purge}:p(95)<200"],
    )
    .await;
    assert_eq!(stats.cache_purges, 1);
    assert!(stats.cache_misses > 0, "{}", out.describe());
}

// ------------------------------------------------------------------ (d) the SUT's side

/// Runs `scenario` of `sut.yaml` against a fresh target scraped by a real Prometheus: `fault`
/// is posted before the run, `mid` after a delay while it goes (a fault that must happen
/// between the checks' first and last samples). Asserts exit 99 with exactly `expected`
/// breached.
async fn sut_faulty(
    scenario: &str,
    scale: f64,
    fault: &str,
    mid: Option<(Duration, &'static str)>,
    expected: &[&str],
) -> (Outcome, TargetStats) {
    let _lane = alone().await;
    let t = target().await;
    let mut procs = Procs::new();
    let prom = start_prometheus(&mut procs, &t.addr().to_string()).await;
    let addr = t.addr();
    let posting = mid.map(|(after, body)| {
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            control(addr, body).await;
        })
    });
    let out = run_on(&t, SUT, scenario, scale, fault, Some(&prom)).await;
    if let Some(task) = posting {
        task.await.expect("the mid-run fault was posted");
    }
    let want: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
    let context = format!(
        "{scenario} under {fault}{mid:?}: {}{}",
        out.describe(),
        procs.logs()
    );
    assert_eq!(out.code, 99, "{context}");
    assert_eq!(out.breached(), want, "{context}");
    let stats = t.stats();
    assert_counters(scenario, &stats, &out);
    (out, stats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_restart_during_the_overnight_soak_breaches_only_the_restarts_check() {
    // One supervisor restart 6 s into the 14.4 s (scaled 2 h) soak: memory, errors and latency
    // stay fine, the restart counter grows by one.
    let (out, stats) = sut_faulty(
        "resilience_soak",
        0.002,
        "",
        Some((Duration::from_secs(6), r#"{"worker_restarts": 1}"#)),
        &["sut:worker_restarts:increase<1"],
    )
    .await;
    assert_eq!(stats.worker_restarts, 1);
    let check = out.summary["sut_checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "worker_restarts"))
        .cloned()
        .unwrap_or_default();
    assert!(check["queries"].as_u64().unwrap_or(0) >= 2, "{check}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_that_drains_too_slowly_breaches_the_drain_check_and_the_recovery() {
    // Workers drain 1 job/s: the outage's backlog is still there 5 (scaled) minutes after the
    // restore, and notifications are still shed, so both sides of "queue recovery < 5 min"
    // breach, and nothing else.
    let (_, stats) = sut_faulty(
        "queue_outage",
        0.02,
        r#"{"queue_drain_per_sec": 1}"#,
        None,
        &["sut:queue_drained:last<1", "drill:queue_outage:recovery<=6"],
    )
    .await;
    assert!(stats.queue_depth > 0, "the backlog is still there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_fallback_of_400_ms_breaches_only_the_purge_spike_threshold() {
    // The database fallback answers in 400 ms while the cache is rebuilt: the purge's windows
    // break p95 < 200 ms; nothing fails.
    let (_, stats) = sut_faulty(
        "cache_purge",
        0.03,
        r#"{"cache_fallback_ms": 400}"#,
        None,
        &["http_req_duration:p(95)<200[1m]"],
    )
    .await;
    assert!(stats.cache_misses > 0);
}
