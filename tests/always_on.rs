//! Always-on against a shared staging (issue 17): the real `soakd run` against the calibration
//! target (`soakd target`), both child processes. A failing target trips the circuit breaker
//! and hears nothing during the cooldown (the target's own request counter says so), no run
//! starts inside a blackout and a running one stops when it opens, and pauses set through the
//! API and a breaker's hold survive a restart. Every wait is bounded; every load is a few
//! seconds at ≤ 40 req/s.

#[allow(dead_code)]
#[path = "daemon/support.rs"]
mod support;

use chrono::Timelike;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use support::*;

const TOKEN: &str = "always-on-token";

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("soakd-always-on-")
        .tempdir()
        .expect("tempdir")
}

/// Config head with an admin token file, and `extra_safety` inside `safety: { … }`.
fn head(dir: &Path, extra_safety: &str) -> String {
    let token = dir.join("admin-token");
    std::fs::write(&token, format!("{TOKEN}\n")).expect("token file");
    format!(
        "server: {{ listen: \"${{LISTEN}}\", admin_token_file: \"{t}\" }}\n\
         state_dir: \"{d}/state\"\n\
         results: {{ dir: \"{d}/results\", retention: 1d }}\n\
         safety: {{ allowed_hosts: [\"127.0.0.1\"], max_rps: 1000{extra_safety} }}\n\
         defaults: {{ timeout: 2s }}\n\
         scenarios:\n",
        t = token.display(),
        d = dir.display()
    )
}

/// A scenario block: `url` at `rate`/s for `duration`, with `extra` lines (4-space indented).
fn scenario(
    name: &str,
    schedule: &str,
    target: &str,
    url: &str,
    rate: u32,
    duration: &str,
    extra: &str,
) -> String {
    format!(
        "  {name}:\n\
        \x20   schedule: {schedule}\n\
        \x20   target: {{ base_url: \"{target}\" }}\n\
        \x20   load: {{ executor: constant-arrival-rate, rate: {rate}, time_unit: 1s, duration: {duration}, pre_allocated_vus: 5, max_vus: 20 }}\n\
        \x20   mix:\n\
        \x20     - {{ name: req, request: {{ url: \"{url}\" }} }}\n\
        {extra}"
    )
}

fn post(d: &Daemon, path: &str) -> Resp {
    let auth = format!("Bearer {TOKEN}");
    http(d.addr, "POST", path, &[("Authorization", &auth)], None)
        .unwrap_or_else(|e| d.proc.fail(&format!("POST {path}: {e}")))
}

/// The target's own count of requests to `/status/{code}` and `/ok`.
fn served(target: &Target) -> (u64, u64) {
    let s = http(target.addr, "GET", "/_stats", &[], None)
        .expect("GET /_stats")
        .json();
    let n = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("_stats.{k}: {s}"));
    (n("status"), n("ok"))
}

fn hold(d: &Daemon, scenario: &str) -> Value {
    let list = d.get("/api/v1/scenarios").json();
    list["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .find(|s| s["name"] == scenario)
        .unwrap_or_else(|| panic!("{scenario} not listed: {list}"))["hold"]
        .clone()
}

fn runs(d: &Daemon, scenario: &str) -> Vec<Value> {
    d.get(&format!("/api/v1/runs?scenario={scenario}&limit=100"))
        .json()["runs"]
        .as_array()
        .expect("runs")
        .clone()
}

fn summary(d: &Daemon, run_id: &str) -> Value {
    d.get(&format!("/api/v1/runs/{run_id}")).json()
}

/// Scenario `dead`: back-to-back runs of 20 s at 20/s against `/status/500`, with a breaker
/// that trips on half the requests failing over 2 s and holds for `cooldown`.
fn dead_target(dir: &Path, target: &Target, cooldown: &str) -> String {
    let cb = format!(
        "    circuit_breaker: {{ error_rate: 0.5, window: 2s, cooldown: {cooldown}, min_requests: 10 }}\n"
    );
    head(dir, "")
        + &scenario(
            "dead",
            "{ continuous: true }",
            &target.url(),
            "/status/500",
            20,
            "20s",
            &cb,
        )
}

#[test]
fn the_breaker_trips_within_its_window_and_the_target_hears_nothing_during_the_cooldown() {
    let dir = tempdir();
    let target = Target::start(dir.path());
    let cfg = dead_target(dir.path(), &target, "5s");
    let d = Daemon::start(dir.path(), "daemon", &cfg);
    let open = [("scenario", "dead")];
    d.wait(Duration::from_secs(20), "circuit opens", || {
        (d.metrics().value("soakd_circuit_open", &open) == Some(1.0)).then_some(())
    });
    let first = d.wait(Duration::from_secs(10), "the tripped run's summary", || {
        runs(&d, "dead")
            .into_iter()
            .find(|r| r["result"] == "aborted")
    });
    let s = summary(&d, first["run_id"].as_str().expect("run id"));
    assert_eq!(s["reason"], "circuit_open", "{s}");
    assert_eq!(s["result"], "aborted");
    // Tripped within its 2 s window (plus one 0.5 s tick and the graceful stop), not after 20 s.
    let secs = s["duration_seconds"].as_f64().expect("duration");
    assert!(secs < 4.0, "the breaker took {secs} s to trip");
    let sent = s["metrics"]["requests_total"].as_u64().expect("requests");
    assert!(
        (10..=80).contains(&sent),
        "requests before the trip: {sent}"
    );

    // The cooldown: nothing reaches the target, and the hold is visible.
    let (before, _) = served(&target);
    let h = hold(&d, "dead");
    assert!(h["circuit_open_until"].is_string(), "{h}");
    assert_eq!(h["circuit_trips"], 1, "{h}");
    std::thread::sleep(Duration::from_secs(3));
    let (after, _) = served(&target);
    assert_eq!(
        after, before,
        "requests reached the target during the cooldown"
    );
    let m = d.metrics();
    assert_eq!(
        m.value(
            "soakd_schedule_skipped_total",
            &[("scenario", "dead"), ("reason", "circuit_open")]
        ),
        Some(1.0),
        "one skip per hold, not one per retry"
    );
    let page = d.get("/").body;
    assert!(page.contains("circuit open until"), "status page: {page}");

    // After the cooldown the scenario runs again, trips again, and the hold doubles.
    d.wait(Duration::from_secs(20), "second trip", || {
        (hold(&d, "dead")["circuit_trips"] == 2).then_some(())
    });
    let h = hold(&d, "dead");
    let until =
        chrono::DateTime::parse_from_rfc3339(h["circuit_open_until"].as_str().expect("until"))
            .expect("rfc3339");
    let left = (until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds();
    assert!(
        (6_000..=10_500).contains(&left),
        "second hold is ~10 s, {left} ms left"
    );
    // The tripped run's summary follows the trip by its graceful stop and the breaker's write.
    let aborted = || {
        runs(&d, "dead")
            .iter()
            .filter(|r| r["result"] == "aborted")
            .count()
    };
    d.wait(
        Duration::from_secs(10),
        "the second tripped run's summary",
        || (aborted() >= 2).then_some(()),
    );
    assert_eq!(aborted(), 2);
}

/// The end of the current hold, as the API gives it.
fn open_until(h: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(h["circuit_open_until"].as_str().expect("until"))
        .expect("rfc3339")
        .with_timezone(&chrono::Utc)
}

#[test]
fn a_restart_during_the_cooldown_keeps_the_scenario_held_until_it_ends() {
    let dir = tempdir();
    let target = Target::start(dir.path());
    let cfg = dead_target(dir.path(), &target, "8s");
    let d = Daemon::start(dir.path(), "daemon1", &cfg);
    // The tripped run's summary is written after the breaker (one queue): both are on disk.
    d.wait(Duration::from_secs(20), "the tripped run's summary", || {
        runs(&d, "dead")
            .into_iter()
            .find(|r| r["result"] == "aborted")
    });
    let until = open_until(&hold(&d, "dead"));
    // A crash (SIGKILL) in the middle of the cooldown.
    drop(d);
    assert!(dir.path().join("state/breakers.json").is_file());

    let d = Daemon::start(dir.path(), "daemon2", &cfg);
    let h = hold(&d, "dead");
    assert_eq!(h["circuit_trips"], 1, "{h}");
    assert_eq!(
        open_until(&h),
        until,
        "the hold ends when it did before the restart"
    );
    let (before, _) = served(&target);
    let open = [("scenario", "dead")];
    d.wait(Duration::from_secs(3), "the restored hold's gauge", || {
        (d.metrics().value("soakd_circuit_open", &open) == Some(1.0)).then_some(())
    });
    // Nothing reaches the target until the cooldown ends (half a second short of it).
    let quiet = (until - chrono::Utc::now() - chrono::Duration::milliseconds(500))
        .to_std()
        .expect("the restart took less than the cooldown");
    std::thread::sleep(quiet);
    assert_eq!(
        served(&target).0,
        before,
        "requests reached the target during the cooldown after a restart"
    );
    assert!(runs(&d, "dead").iter().all(|r| r["result"] == "aborted"));
    // Then it runs again and trips again: the trip count survived too, so the hold doubles.
    d.wait(Duration::from_secs(20), "second trip", || {
        (hold(&d, "dead")["circuit_trips"] == 2).then_some(())
    });
    assert!(served(&target).0 > before);
    let left = (open_until(&hold(&d, "dead")) - chrono::Utc::now()).num_milliseconds();
    assert!(
        (10_000..=16_500).contains(&left),
        "second hold is ~16 s, {left} ms left"
    );
}

#[test]
fn no_run_starts_inside_a_blackout_and_a_running_one_stops_when_it_opens() {
    let dir = tempdir();
    let target = Target::start(dir.path());
    let scenarios = scenario("long", "manual", &target.url(), "/ok", 10, "60s", "")
        + &scenario(
            "loop",
            "{ continuous: true }",
            &target.url(),
            "/ok",
            10,
            "1s",
            "",
        );
    let d = Daemon::start(dir.path(), "daemon", &(head(dir.path(), "") + &scenarios));
    let r = post(&d, "/api/v1/scenarios/long/runs");
    assert_eq!(r.status, 202, "before the window a run starts: {r:?}");
    let id = r.json()["run_id"].as_str().expect("run id").to_string();

    // Reload with one window opening 4 s from now (6-field cron, UTC), for an hour: the
    // window's start does not depend on how long the daemon took to come up.
    let opens = chrono::Utc::now() + chrono::Duration::seconds(4);
    let cron = format!(
        "{} {} {} * * *",
        opens.second(),
        opens.minute(),
        opens.hour()
    );
    let blackouts = format!(", blackouts: [ {{ cron: \"{cron}\", duration: 1h }} ]");
    let cfg = (head(dir.path(), &blackouts) + &scenarios).replace("${LISTEN}", &d.addr.to_string());
    std::fs::write(&d.config, cfg).expect("write config");
    assert_eq!(post(&d, "/api/v1/reload").status, 200, "reload");
    assert!(
        chrono::Utc::now() < opens,
        "the reload took too long for this test"
    );

    let s = d.wait(
        Duration::from_secs(30),
        "the long run stops at the window",
        || {
            let s = summary(&d, &id);
            (s["result"] != "running").then_some(s)
        },
    );
    assert_eq!(
        (s["result"].as_str(), s["reason"].as_str()),
        (Some("aborted"), Some("blackout")),
        "{s}"
    );
    let ended = chrono::DateTime::parse_from_rfc3339(s["ended_at"].as_str().expect("end"))
        .expect("rfc3339");
    assert!(
        ended >= opens - chrono::Duration::seconds(1),
        "stopped before the window: {s}"
    );

    // Inside the window: the loop starts nothing, manual starts are refused, the gauge says why.
    std::thread::sleep(Duration::from_millis(1500));
    let before = runs(&d, "loop").len();
    let (_, ok_before) = served(&target);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        runs(&d, "loop").len(),
        before,
        "a run started inside the blackout"
    );
    let (_, ok_after) = served(&target);
    assert_eq!(
        ok_after, ok_before,
        "requests reached the target inside the blackout"
    );
    let r = post(&d, "/api/v1/scenarios/long/runs");
    assert_eq!(r.status, 409, "{r:?}");
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap_or("")
            .contains("blackout"),
        "{r:?}"
    );
    let m = d.metrics();
    for name in ["long", "loop"] {
        assert_eq!(
            m.value(
                "soakd_scenario_paused",
                &[("scenario", name), ("reason", "blackout")]
            ),
            Some(1.0),
            "{name}"
        );
    }
    assert!(
        m.sum(
            "soakd_schedule_skipped_total",
            &[("scenario", "loop"), ("reason", "blackout")]
        ) >= 1.0
    );
    assert!(hold(&d, "loop")["blackout_until"].is_string());
}

#[test]
fn pause_and_resume_through_the_api_survive_a_restart() {
    let dir = tempdir();
    let target = Target::start(dir.path());
    let cfg = head(dir.path(), "")
        + &scenario(
            "feed",
            "{ continuous: true }",
            &target.url(),
            "/ok",
            10,
            "1s",
            "",
        )
        + &scenario("other", "manual", &target.url(), "/ok", 10, "1s", "");
    let d = Daemon::start(dir.path(), "daemon1", &cfg);
    d.wait(Duration::from_secs(15), "feed runs", || {
        (!runs(&d, "feed").is_empty()).then_some(())
    });

    // Writes need the token, like the other write routes.
    let r = http(d.addr, "POST", "/api/v1/scenarios/feed/pause", &[], None).expect("POST");
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(post(&d, "/api/v1/scenarios/nope/pause").status, 404);
    let r = post(&d, "/api/v1/scenarios/feed/pause");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["paused"], true);
    d.wait(Duration::from_secs(10), "the active run stops", || {
        d.get("/api/v1/runs?scenario=feed").json()["active"]
            .as_array()
            .filter(|a| a.is_empty())
            .map(|_| ())
    });
    let paused = [("scenario", "feed"), ("reason", "paused")];
    assert_eq!(
        d.metrics().value("soakd_scenario_paused", &paused),
        Some(1.0)
    );
    drop(d);

    // A new process: still paused, nothing sent.
    let d = Daemon::start(dir.path(), "daemon2", &cfg);
    assert_eq!(hold(&d, "feed")["paused"], true);
    assert_eq!(hold(&d, "other")["paused"], false);
    let (_, ok_before) = served(&target);
    let n_before = runs(&d, "feed").len();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        served(&target).1,
        ok_before,
        "a paused scenario sent requests after the restart"
    );
    assert_eq!(runs(&d, "feed").len(), n_before);
    let m = d.metrics();
    assert_eq!(m.value("soakd_scenario_paused", &paused), Some(1.0));
    assert_eq!(m.value("soakd_schedule_skipped_total", &paused), Some(1.0));
    assert_eq!(post(&d, "/api/v1/scenarios/feed/runs").status, 409);

    // Resume: runs start again.
    assert_eq!(post(&d, "/api/v1/scenarios/feed/resume").status, 200);
    d.wait(Duration::from_secs(15), "feed runs after resume", || {
        (runs(&d, "feed").len() > n_before).then_some(())
    });

    // pause_all holds every scenario, resume_all releases them; both durable too.
    assert_eq!(post(&d, "/api/v1/pause_all").status, 200);
    assert_eq!(post(&d, "/api/v1/scenarios/other/runs").status, 409);
    drop(d);
    let d = Daemon::start(dir.path(), "daemon3", &cfg);
    assert_eq!(hold(&d, "other")["paused"], true);
    assert_eq!(post(&d, "/api/v1/resume_all").status, 200);
    assert_eq!(hold(&d, "feed")["paused"], false);
    assert_eq!(post(&d, "/api/v1/scenarios/other/runs").status, 202);
    let started = Instant::now();
    d.wait(
        Duration::from_secs(15),
        "feed runs after resume_all",
        || (runs(&d, "feed").len() > n_before + 1).then_some(()),
    );
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn a_latency_shift_against_recent_passing_runs_fails_the_run_with_effect_and_p_value() {
    let dir = tempdir();
    let target = Target::start(dir.path());
    // A fixed 20 ms server delay dominates the latency, so a loaded test machine's jitter stays
    // under the 25 % floor while the 30 ms shift below is far above it.
    let baseline = "    baseline: { against: last_3_passing, test: mann_whitney, alpha: 0.01, min_effect: 25% }\n";
    let cfg = head(dir.path(), "")
        + &scenario(
            "reg",
            "{ continuous: true }",
            &target.url(),
            "/delay/20",
            40,
            "1s",
            baseline,
        );
    let d = Daemon::start(dir.path(), "daemon", &cfg);
    let history = dir.path().join("state/history/reg.json");
    let kept = || -> Vec<Value> {
        std::fs::read(&history)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    };
    d.wait(
        Duration::from_secs(60),
        "3 passing runs in the history",
        || (kept().len() == 3).then_some(()),
    );

    // The target slows by 30 ms: the next whole run is a regression.
    target.fault(r#"{"latency_ms": 30}"#);
    let shifted = chrono::Utc::now();
    let run = d.wait(
        Duration::from_secs(30),
        "a run started after the shift",
        || {
            runs(&d, "reg").into_iter().find(|r| {
                r["started_at"]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| t > shifted)
            })
        },
    );
    let id = run["run_id"].as_str().expect("run id");
    let s = summary(&d, id);
    assert_eq!(s["result"], "fail", "{s}");
    let f = s["regression"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["threshold"] == "regression:p95"))
        .unwrap_or_else(|| panic!("no regression:p95 finding: {s}"));
    assert_eq!(f["regressed"], true, "{f}");
    assert!(f["p_value"].as_f64().expect("p") < 0.01, "{f}");
    assert!(
        f["effect"].as_f64().expect("effect") > 0.5,
        "+30 ms on ~20 ms: {f}"
    );
    assert_eq!(f["baseline_runs"], 3);
    let th = s["thresholds"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["threshold"] == "regression:p95"))
        .unwrap_or_else(|| panic!("regression:p95 not among the thresholds: {s}"));
    assert_eq!(th["breached"], true);
    // A regressed run does not become the baseline.
    assert!(
        kept().iter().all(|r| r["run_id"] != id),
        "the failed run joined the history"
    );
    let html = d.get(&format!("/api/v1/runs/{id}/report.html")).body;
    assert!(
        html.contains("Regression against recent passing runs"),
        "{html}"
    );
}
