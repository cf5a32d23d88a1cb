//! Acceptance tests of the daemon (issue 3): the real `soakd` binary as a child process against
//! the calibration target (`soakd target`, also a child), observed through /metrics, the API,
//! its files and its exit code. Every run is short (0.5–4 s) and every wait is bounded.

#[path = "daemon/support.rs"]
mod support;

use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use support::*;

const SLOW_TH: &str = "http_req_duration:p(95)<100";

/// A continuous scenario of ~1.5 s runs against `/ok` that breaches `p(95)<100` while the
/// target has a latency fault.
fn continuous_slow(target: &str) -> String {
    format!(
        "scenarios:\n\
        \x20 slow:\n\
        \x20   schedule: {{ continuous: true }}\n\
        \x20   target: {{ base_url: \"{target}\" }}\n\
        \x20   load: {{ executor: constant-arrival-rate, rate: 20, time_unit: 1s, duration: 1500ms, pre_allocated_vus: 10, max_vus: 20 }}\n\
        \x20   mix:\n\
        \x20     - {{ name: ok, request: {{ url: /ok }}, checks: [ {{ status: [200] }} ] }}\n\
        \x20   thresholds:\n\
        \x20     http_req_duration: [\"p(95)<100\"]\n\
        \x20   incident: {{ consecutive_breaches: 2 }}\n"
    )
}

/// One scenario block; `load` is the flow mapping of `load:`.
fn scenario(name: &str, schedule: &str, target: &str, load: &str, thresholds: &str) -> String {
    format!(
        "  {name}:\n\
        \x20   schedule: {schedule}\n\
        \x20   target: {{ base_url: \"{target}\" }}\n\
        \x20   load: {load}\n\
        \x20   mix:\n\
        \x20     - {{ name: ok, request: {{ url: /ok }}, checks: [ {{ status: [200] }} ] }}\n\
        \x20   thresholds:\n\
        \x20     {thresholds}\n"
    )
}

fn rate_load(rate: u32, duration: &str) -> String {
    format!(
        "{{ executor: constant-arrival-rate, rate: {rate}, time_unit: 1s, duration: {duration}, pre_allocated_vus: 5, max_vus: 10 }}"
    )
}

/// (finished runs of `scenario`, consecutive breaches, incident open) of the slow threshold.
fn streak(m: &Exposition, scenario: &str) -> (f64, Option<f64>, Option<f64>) {
    let runs = m.sum("soakd_runs_total", &[("scenario", scenario)]);
    let l = [("scenario", scenario), ("threshold", SLOW_TH)];
    (
        runs,
        m.value("soakd_threshold_consecutive_breaches", &l),
        m.value("soakd_incident_open", &l),
    )
}

/// Waits until `scenario` has finished `n` runs, then reads the streak (a run lasts ~1.5 s, so
/// the next one cannot finish in between).
fn after_runs(d: &Daemon, scenario: &str, n: f64) -> (f64, f64) {
    d.wait(
        Duration::from_secs(20),
        &format!("{n} finished runs"),
        || {
            let m = d.metrics();
            let (runs, c, o) = streak(&m, scenario);
            (runs >= n).then_some(())?;
            // run_finished bumps the run counter just before the streak gauges: read again.
            std::thread::sleep(Duration::from_millis(100));
            let (runs, c2, o2) = streak(&d.metrics(), scenario);
            assert_eq!(runs, n, "expected exactly {n} runs (before: {c:?}/{o:?})");
            Some((
                c2.expect("consecutive series"),
                o2.expect("incident series"),
            ))
        },
    )
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("soakd-daemon-")
        .tempdir()
        .expect("tempdir")
}

#[test]
fn consecutive_breaches_open_and_close_an_incident() {
    let dir = tempdir();
    let target = Target::start(dir.path());
    target.fault(r#"{"latency_ms": 300}"#);
    let cfg = config_head(dir.path(), "") + &continuous_slow(&target.url());
    let d = Daemon::start(dir.path(), "daemon", &cfg);

    assert_eq!(after_runs(&d, "slow", 1.0), (1.0, 0.0), "after run 1");
    assert_eq!(after_runs(&d, "slow", 2.0), (2.0, 1.0), "after run 2");
    let api = d.get("/api/v1/scenarios").json();
    let slow = &api["scenarios"][0];
    assert_eq!(slow["name"], "slow");
    assert_eq!(slow["open_incidents"][0]["threshold"], SLOW_TH, "{api}");

    // Heal: same URL, fault cleared. The run in progress may still breach (its first requests
    // were slow); the first passing run closes the incident.
    target.heal();
    d.wait(Duration::from_secs(20), "a passing run", || {
        let m = d.metrics();
        (m.sum(
            "soakd_runs_total",
            &[("scenario", "slow"), ("result", "pass")],
        ) >= 1.0)
            .then_some(())
    });
    std::thread::sleep(Duration::from_millis(100));
    let (_, c, o) = streak(&d.metrics(), "slow");
    assert_eq!((c, o), (Some(0.0), Some(0.0)), "after a passing run");
    let api = d.get("/api/v1/scenarios").json();
    assert_eq!(api["scenarios"][0]["open_incidents"], serde_json::json!([]));
}

#[test]
fn crash_keeps_the_breach_streak() {
    let dir = tempdir();
    let target = Target::start(dir.path());
    target.fault(r#"{"latency_ms": 300}"#);
    let cfg = config_head(dir.path(), "") + &continuous_slow(&target.url());
    let mut d = Daemon::start(dir.path(), "daemon1", &cfg);
    assert_eq!(after_runs(&d, "slow", 1.0), (1.0, 0.0), "after run 1");
    d.proc.kill(); // SIGKILL mid-way through run 2
    drop(d);

    let d = Daemon::start(dir.path(), "daemon2", &cfg);
    // Restored before any run of the new process.
    let (runs, c, o) = streak(&d.metrics(), "slow");
    assert_eq!(
        (c, o),
        (Some(1.0), Some(0.0)),
        "restored streak (runs {runs})"
    );
    assert_eq!(
        after_runs(&d, "slow", 1.0),
        (2.0, 1.0),
        "after the next run"
    );
}

fn parse_time(v: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().expect("time string"))
        .unwrap_or_else(|e| panic!("bad time {v}: {e}"))
        .with_timezone(&chrono::Utc)
}

#[test]
fn cron_fires_on_time_and_skips_overlaps() {
    let dir = tempdir();
    let target = Target::start(dir.path());
    let t = target.url();
    let cfg = config_head(dir.path(), "")
        + "scenarios:\n"
        + &scenario(
            "tick",
            "{ cron: \"*/3 * * * * *\", timezone: UTC }",
            &t,
            &rate_load(10, "500ms"),
            "http_req_failed: [\"rate<0.5\"]",
        )
        + &scenario(
            "long",
            "{ cron: \"*/2 * * * * *\", timezone: UTC }",
            &t,
            &rate_load(5, "4s"),
            "http_req_failed: [\"rate<0.5\"]",
        );
    let d = Daemon::start(dir.path(), "daemon", &cfg);

    // next fire is published as a gauge in the future, on a multiple of 3 s.
    let m = d.metrics();
    let next = m
        .value(
            "soakd_schedule_next_run_timestamp_seconds",
            &[("scenario", "tick")],
        )
        .expect("next run gauge");
    assert_eq!(next % 3.0, 0.0, "next fire {next} on */3 (whole seconds)");
    let api = d.get("/api/v1/scenarios").json();
    let tick = api["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .find(|s| s["name"] == "tick")
        .expect("tick")
        .clone();
    let next_api = parse_time(&tick["next_run"]);
    assert_eq!(next_api.timestamp_subsec_millis(), 0, "{tick}");
    assert_eq!(next_api.timestamp() % 3, 0, "{tick}");

    let runs = d.wait(Duration::from_secs(20), "3 finished tick runs", || {
        let r = d.get("/api/v1/runs?scenario=tick&limit=10").json();
        let runs = r["runs"].as_array()?.clone();
        (runs.len() >= 3).then_some(runs)
    });
    for r in &runs {
        let start = parse_time(&r["started_at"]);
        let ms = start.timestamp_millis();
        let fire = (ms as f64 / 3000.0).round() as i64 * 3000;
        assert!(
            (ms - fire).abs() <= 1000,
            "run {} started at {start}, {} ms from the fire time",
            r["run_id"],
            ms - fire
        );
        assert_eq!(r["scenario"], "tick");
    }

    let m = d.wait(Duration::from_secs(15), "an overlap skip of long", || {
        let m = d.metrics();
        let skipped = m.value(
            "soakd_schedule_skipped_total",
            &[("scenario", "long"), ("reason", "overlap")],
        )?;
        (skipped >= 1.0).then_some(m)
    });
    assert_eq!(
        m.value(
            "soakd_schedule_skipped_total",
            &[("scenario", "tick"), ("reason", "overlap")],
        )
        .unwrap_or(0.0),
        0.0,
        "tick's runs never overlap"
    );
    // Never two runs of `long` at once: the fire during its run started nothing.
    let r = d.get("/api/v1/runs?scenario=long&limit=10").json();
    assert!(r["active"].as_array().expect("active").len() <= 1, "{r}");
    let mut spans: Vec<_> = r["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| (parse_time(&r["started_at"]), parse_time(&r["ended_at"])))
        .collect();
    spans.sort();
    for w in spans.windows(2) {
        assert!(w[1].0 >= w[0].1, "overlapping runs of long: {spans:?}");
    }
}

fn scenario_names(d: &Daemon) -> Vec<String> {
    let mut v: Vec<String> = d.get("/api/v1/scenarios").json()["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| s["name"].as_str().expect("name").to_string())
        .collect();
    v.sort();
    v
}

fn active_run_id(d: &Daemon, scenario: &str) -> Option<String> {
    let r = d
        .get(&format!("/api/v1/runs?scenario={scenario}&limit=1"))
        .json();
    r["active"]
        .as_array()?
        .first()
        .and_then(|a| a["run_id"].as_str())
        .map(str::to_string)
}

#[test]
fn reload_keeps_old_plan_on_error_and_applies_per_scenario() {
    let dir = tempdir();
    let target = Target::start(dir.path());
    let t = target.url();
    let head = config_head(dir.path(), "");
    let keep = scenario(
        "keep",
        "{ continuous: true }",
        &t,
        &rate_load(10, "4s"),
        "http_req_failed: [\"rate<0.5\"]",
    );
    let gone = scenario(
        "gone",
        "{ continuous: true }",
        &t,
        &rate_load(10, "1s"),
        "http_req_failed: [\"rate<0.5\"]",
    );
    let cfg = format!("{head}scenarios:\n{keep}{gone}");
    let mut d = Daemon::start(dir.path(), "daemon", &cfg);
    let listen = d.addr.to_string();
    d.wait(Duration::from_secs(10), "gone has a finished run", || {
        (d.metrics().sum("soakd_runs_total", &[("scenario", "gone")]) >= 1.0).then_some(())
    });
    assert_eq!(
        d.metrics()
            .value("soakd_config_last_reload_successful", &[]),
        Some(1.0)
    );

    // 1. An invalid file: the old plan keeps running, the gauge and the log say why.
    let bad = format!(
        "{head}scenarios:\n{keep}{gone}",
        head = head.replace("${LISTEN}", &listen)
    )
    .replace(
        "{ continuous: true }",
        "{ cron: \"not a cron\", timezone: UTC }",
    );
    std::fs::write(&d.config, &bad).expect("write bad config");
    d.wait(Duration::from_secs(10), "reload gauge 0", || {
        (d.metrics()
            .value("soakd_config_last_reload_successful", &[])
            == Some(0.0))
        .then_some(())
    });
    let log = d.proc.stderr_text();
    assert!(
        log.contains("config reload rejected") && log.contains("not a cron"),
        "the log names the error:\n{log}"
    );
    assert_eq!(scenario_names(&d), ["gone", "keep"]);
    let before = d.metrics().sum("soakd_runs_total", &[("scenario", "gone")]);
    d.wait(Duration::from_secs(10), "gone keeps running", || {
        (d.metrics().sum("soakd_runs_total", &[("scenario", "gone")]) > before).then_some(())
    });

    // 2. A valid file that removes `gone`, adds `fresh` and leaves `keep` as it was.
    // Change the file right after a run of keep starts, so that run is still going when the
    // reload (polled every second) applies.
    let previous = d.wait(Duration::from_secs(10), "keep is running", || {
        active_run_id(&d, "keep")
    });
    let running = d.wait(Duration::from_secs(10), "keep's next run", || {
        active_run_id(&d, "keep").filter(|id| *id != previous)
    });
    let fresh = scenario(
        "fresh",
        "{ continuous: true }",
        &t,
        &rate_load(10, "1s"),
        "http_req_failed: [\"rate<0.5\"]",
    );
    let good = format!(
        "{head}scenarios:\n{keep}{fresh}",
        head = head.replace("${LISTEN}", &listen)
    );
    let written = Instant::now();
    std::fs::write(&d.config, &good).expect("write good config");
    d.wait(Duration::from_secs(10), "reload gauge 1", || {
        (d.metrics()
            .value("soakd_config_last_reload_successful", &[])
            == Some(1.0))
        .then_some(())
    });
    assert_eq!(scenario_names(&d), ["fresh", "keep"]);
    // keep's 4 s run that was going when the file changed is still the same run.
    assert!(
        written.elapsed() < Duration::from_secs(3),
        "{:?}",
        written.elapsed()
    );
    assert_eq!(
        active_run_id(&d, "keep").as_deref(),
        Some(running.as_str()),
        "keep's run was restarted by the reload"
    );
    d.wait(Duration::from_secs(10), "fresh runs", || {
        (d.metrics()
            .sum("soakd_runs_total", &[("scenario", "fresh")])
            >= 1.0)
            .then_some(())
    });
    let m = d.metrics();
    assert!(
        !m.has_label("scenario", "gone"),
        "series of the removed scenario remain:\n{}",
        m.text
            .lines()
            .filter(|l| l.contains("\"gone\""))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // keep's interrupted-looking run finished normally and the next one followed at once.
    let summary = d.wait(Duration::from_secs(10), "keep's run finished", || {
        let r = d.get(&format!("/api/v1/runs/{running}")).json();
        (r["result"] != "running").then_some(r)
    });
    assert_eq!(summary["result"], "pass", "{summary}");
    d.wait(Duration::from_secs(10), "keep's next run", || {
        active_run_id(&d, "keep").filter(|id| *id != running)
    });
    let r = d.get("/api/v1/runs?scenario=keep&limit=10").json();
    for run in r["runs"].as_array().expect("runs") {
        assert_ne!(run["result"], "aborted", "keep was aborted: {r}");
    }

    // 3. SIGHUP reloads too (file unchanged).
    let at = d
        .metrics()
        .value("soakd_config_last_reload_timestamp_seconds", &[])
        .expect("reload timestamp");
    std::thread::sleep(Duration::from_millis(50));
    d.proc.signal("HUP");
    d.wait(Duration::from_secs(10), "SIGHUP reload", || {
        let m = d.metrics();
        let now = m.value("soakd_config_last_reload_timestamp_seconds", &[])?;
        (now > at && m.value("soakd_config_last_reload_successful", &[]) == Some(1.0)).then_some(())
    });
    assert!(d.proc.try_status().is_none(), "SIGHUP must not stop soakd");
}

fn auth(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn api_auth_trigger_conflict_abort_list_fetch() {
    let dir = tempdir();
    let target = Target::start(dir.path());
    let t = target.url();
    let manual = scenario(
        "manual_one",
        "manual",
        &t,
        &rate_load(10, "2s"),
        // A whole run makes 20 requests; the run aborted at once below makes fewer.
        "http_req_failed: [\"rate<0.5\"]\n      http_reqs: [\"count>=15\"]",
    );

    // Without a configured token every write route answers 403.
    let open_dir = dir.path().join("open");
    std::fs::create_dir_all(&open_dir).expect("mkdir");
    let open = Daemon::start(
        &open_dir,
        "open",
        &(config_head(&open_dir, "") + "scenarios:\n" + &manual),
    );
    for (m, p) in [
        ("POST", "/api/v1/scenarios/manual_one/runs"),
        ("DELETE", "/api/v1/runs/abc"),
    ] {
        let r = http(open.addr, m, p, &[("Authorization", &auth("x"))], None).expect(p);
        assert_eq!(r.status, 403, "{m} {p} without a token: {r:?}");
        assert!(r.json()["error"].is_string());
    }
    drop(open);

    let token_file = dir.path().join("admin-token");
    std::fs::write(&token_file, "s3cret-token\n").expect("token");
    let extra = format!(", admin_token_file: \"{}\"", token_file.display());
    let d = Daemon::start(
        dir.path(),
        "daemon",
        &(config_head(dir.path(), &extra) + "scenarios:\n" + &manual),
    );
    let a = d.addr;
    let post = "/api/v1/scenarios/manual_one/runs";
    let good = auth("s3cret-token");
    for h in [
        vec![],
        vec![("Authorization", "Bearer wrong")],
        vec![("Authorization", "s3cret-token")],
    ] {
        let r = http(a, "POST", post, &h, None).expect("POST");
        assert_eq!(r.status, 401, "{h:?}: {r:?}");
        assert!(r.json()["error"].is_string());
    }
    let r = http(
        a,
        "POST",
        "/api/v1/scenarios/nope/runs",
        &[("Authorization", &good)],
        None,
    )
    .expect("POST");
    assert_eq!(r.status, 404, "{r:?}");

    // Trigger, 409 while running, abort.
    let r = http(a, "POST", post, &[("Authorization", &good)], None).expect("POST");
    assert_eq!(r.status, 202, "{r:?}");
    let first = r.json()["run_id"].as_str().expect("run_id").to_string();
    let r = http(a, "POST", post, &[("Authorization", &good)], None).expect("POST");
    assert_eq!(r.status, 409, "{r:?}");
    assert!(r.json()["error"].is_string());
    assert_eq!(
        d.get(&format!("/api/v1/runs/{first}")).json()["result"],
        "running"
    );
    let del = format!("/api/v1/runs/{first}");
    let r = http(a, "DELETE", &del, &[], None).expect("DELETE");
    assert_eq!(r.status, 401, "{r:?}");
    let r = http(a, "DELETE", &del, &[("Authorization", &good)], None).expect("DELETE");
    assert_eq!(r.status, 202, "{r:?}");
    let aborted = d.wait(Duration::from_secs(10), "aborted summary", || {
        let r = d.get(&del);
        (r.status == 200 && r.json()["result"] != "running").then(|| r.json())
    });
    assert_eq!(aborted["result"], "aborted", "{aborted}");
    assert_eq!(aborted["run_id"], first.as_str());
    // An aborted run judges nothing: no verdict gauge says it breached (SoakdThresholdBreached).
    let breached = d
        .metrics()
        .sum("soakd_threshold_breached", &[("scenario", "manual_one")]);
    assert_eq!(
        breached, 0.0,
        "the aborted run's partial numbers were exported as a verdict"
    );
    let r = http(a, "DELETE", &del, &[("Authorization", &good)], None).expect("DELETE");
    assert_eq!(r.status, 404, "abort of a finished run: {r:?}");

    // A second run that completes.
    let second = d.wait(Duration::from_secs(10), "trigger after abort", || {
        let r = http(a, "POST", post, &[("Authorization", &good)], None).ok()?;
        (r.status == 202).then(|| r.json()["run_id"].as_str().map(str::to_string))?
    });
    let done = d.wait(Duration::from_secs(15), "second run finished", || {
        let r = d.get(&format!("/api/v1/runs/{second}")).json();
        (r["result"] != "running").then_some(r)
    });
    assert_eq!(done["result"], "pass", "{done}");
    assert_eq!(done["scenario"], "manual_one");
    assert!(
        done["metrics"]["requests_total"].as_u64().unwrap_or(0) > 0,
        "{done}"
    );

    // List, newest first, bounded by limit, filtered by scenario.
    let all = d.get("/api/v1/runs?scenario=manual_one&limit=10").json();
    let ids: Vec<&str> = all["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["run_id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids.len(), 2, "{all}");
    assert!(ids.contains(&first.as_str()) && ids.contains(&second.as_str()));
    let one = d.get("/api/v1/runs?scenario=manual_one&limit=1").json();
    assert_eq!(one["runs"].as_array().expect("runs").len(), 1, "{one}");
    let none = d.get("/api/v1/runs?scenario=other&limit=10").json();
    assert_eq!(none["runs"], serde_json::json!([]));

    // Errors are JSON.
    let r = d.get("/no/such/route");
    assert_eq!(r.status, 404);
    assert!(r.json()["error"].is_string(), "{r:?}");
    let r = d.get("/api/v1/runs/bad.id");
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].is_string(), "{r:?}");
    let r = d.get("/api/v1/runs/doesnotexist");
    assert_eq!(r.status, 404);
    assert!(r.json()["error"].is_string(), "{r:?}");
    let r = d.get("/api/v1/runs?limit=many");
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].is_string(), "{r:?}");
}

fn summaries(results: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for day in std::fs::read_dir(results).into_iter().flatten().flatten() {
        let name = day.file_name().to_string_lossy().into_owned();
        assert!(
            chrono::NaiveDate::parse_from_str(&name, "%Y-%m-%d").is_ok(),
            "results/{name} is not YYYY-MM-DD"
        );
        for f in std::fs::read_dir(day.path()).expect("day dir").flatten() {
            // Each summary has its HTML report beside it.
            if f.path().extension().is_some_and(|x| x == "html") {
                continue;
            }
            let text = std::fs::read_to_string(f.path()).expect("summary");
            out.push(serde_json::from_str(&text).expect("summary JSON"));
        }
    }
    out
}

#[test]
fn sigterm_aborts_the_run_writes_summary_and_state_exits_zero() {
    let dir = tempdir();
    let target = Target::start(dir.path());
    let t = target.url();
    let cfg = config_head(dir.path(), "")
        + "shutdown_timeout: 5s\n"
        + "scenarios:\n"
        + &scenario(
            "quick",
            "{ continuous: true }",
            &t,
            &rate_load(10, "1s"),
            "http_req_failed: [\"rate<0.5\"]",
        )
        + &scenario(
            "soak",
            "{ continuous: true }",
            &t,
            &rate_load(20, "30s"),
            "http_req_failed: [\"rate<0.5\"]",
        );
    let mut d = Daemon::start(dir.path(), "daemon", &cfg);
    d.wait(
        Duration::from_secs(10),
        "quick judged once, soak under way",
        || {
            let m = d.metrics();
            (m.sum("soakd_runs_total", &[("scenario", "quick")]) >= 1.0
                && m.sum("soakd_http_requests_total", &[("scenario", "soak")]) >= 5.0)
                .then_some(())
        },
    );
    let id = active_run_id(&d, "soak").expect("an active run");
    let sent = Instant::now();
    d.proc.signal("TERM");
    let status = d
        .proc
        .wait_exit(Duration::from_secs(7))
        .unwrap_or_else(|| d.proc.fail("no exit within shutdown_timeout (5 s) + 2 s"));
    assert!(status.success(), "exit {status}");
    assert!(
        sent.elapsed() < Duration::from_secs(6),
        "{:?}",
        sent.elapsed()
    );

    let all = summaries(&dir.path().join("results"));
    let s = all
        .iter()
        .find(|s| s["run_id"] == id.as_str())
        .unwrap_or_else(|| panic!("no summary of run {id}: {all:?}"));
    assert_eq!(s["result"], "aborted", "{s}");
    assert_eq!(s["scenario"], "soak");

    let state = dir.path().join("state/breaches.json");
    let text = std::fs::read_to_string(&state)
        .unwrap_or_else(|e| d.proc.fail(&format!("{}: {e}", state.display())));
    let v: Value = serde_json::from_str(&text).expect("breaches.json parses");
    let records = v["records"].as_array().expect("records");
    assert!(
        records
            .iter()
            .any(|r| r["scenario"] == "quick" && r["threshold"] == "http_req_failed:rate<0.5"),
        "{v}"
    );
    // The aborted run judged nothing: soak has no streak.
    assert!(!records.iter().any(|r| r["scenario"] == "soak"), "{v}");
}

fn promtool() -> std::path::PathBuf {
    let find = || {
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .chain(["/usr/local/bin".into(), "/usr/bin".into()])
            .map(|d| d.join("promtool"))
            .find(|p| p.is_file())
    };
    if let Some(p) = find() {
        return p;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-test-tools.sh");
    let st = std::process::Command::new("bash").arg(&script).status();
    eprintln!("{} → {st:?}", script.display());
    find().expect("promtool missing even after scripts/install-test-tools.sh")
}

#[test]
fn metrics_after_a_run_hold_every_family_and_pass_promtool() {
    let dir = tempdir();
    let target = Target::start(dir.path());
    target.fault(r#"{"error_rate": 0.2, "error_status": 503}"#);
    let t = target.url();
    let cfg = config_head(dir.path(), "")
        + "scenarios:\n"
        + &scenario(
            "cont",
            "{ continuous: true }",
            &t,
            &rate_load(20, "1s"),
            "http_req_duration: [\"p(95)<250\"]",
        )
        + &scenario(
            "crony",
            "{ cron: \"* * * * * *\", timezone: UTC }",
            &t,
            &rate_load(10, "1500ms"),
            "http_req_failed: [\"rate<0.01\"]",
        );
    let d = Daemon::start(dir.path(), "daemon", &cfg);
    let m = d.wait(Duration::from_secs(20), "every family present", || {
        let m = d.metrics();
        // Every family of DESIGN §5, by the series all of its samples have.
        let missing: Vec<_> = support::metrics::design()
            .map(|f| f.sample_name())
            .filter(|f| !m.samples.iter().any(|s| s.name == *f))
            .collect();
        (m.sum("soakd_runs_total", &[("scenario", "cont")]) >= 1.0
            && m.sum("soakd_schedule_skipped_total", &[]) >= 1.0
            && missing.is_empty())
        .then_some(m)
    });
    // The threshold limit is a bucket boundary.
    assert!(
        m.text
            .contains("soakd_http_request_duration_seconds_bucket{le=\"0.25\",scenario=\"cont\"")
            || m.samples
                .iter()
                .any(|s| s.name == "soakd_http_request_duration_seconds_bucket"
                    && s.has(&[("le", "0.25")])),
        "0.25 s bucket"
    );
    assert!(m.text.trim_end().ends_with("# EOF"));

    // promtool lints the text format 0.0.4, which /metrics serves when no Accept asks for
    // OpenMetrics (whose exemplars 0.0.4 cannot carry).
    let file = dir.path().join("metrics.txt");
    std::fs::write(&file, d.get("/metrics").body).expect("write metrics");
    let out = std::process::Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).expect("open"))
        .output()
        .expect("run promtool");
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    eprintln!("promtool check metrics ({}):\n{report}", out.status);
    // Known mismatch (DEPENDENCIES.md): prometheus-client writes a counter's HELP under its name
    // without `_total`, which promtool reports as "no help text". Only that line is filtered.
    let problems: Vec<&str> = report
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| {
            !l.strip_suffix(" no help text")
                .is_some_and(|n| n.starts_with("soakd_") && n.ends_with("_total"))
        })
        .collect();
    assert!(
        problems.is_empty(),
        "promtool check metrics:\n{}",
        problems.join("\n")
    );
}

#[test]
fn demo_opens_an_incident_within_a_minute() {
    let dir = tempdir();
    let (listen, tgt) = (free_addr(), free_addr());
    let mut p = Proc::soakd(
        "demo",
        &[
            "demo",
            "--listen",
            &listen.to_string(),
            "--target",
            &tgt.to_string(),
        ],
        dir.path(),
        // The demo keeps its state under the temp dir: a fresh one, so no earlier streak counts.
        &[("TMPDIR", dir.path().to_str().expect("utf-8"))],
    );
    let start = Instant::now();
    let found = loop {
        if let Ok(r) = http(listen, "GET", "/metrics", &[], None) {
            let m = Exposition::parse(r.body);
            if m.samples.iter().any(|s| {
                s.name == "soakd_incident_open"
                    && s.value == 1.0
                    && s.has(&[("scenario", "demo_slow")])
            }) {
                break true;
            }
        }
        if let Some(s) = p.try_status() {
            p.fail(&format!("soakd demo exited: {s}"));
        }
        if start.elapsed() > Duration::from_secs(60) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    if !found {
        p.fail("no soakd_incident_open{scenario=\"demo_slow\"} 1 within 60 s");
    }
    let banner = p.stdout_text();
    assert!(
        banner.contains(&format!("http://{listen}/metrics")),
        "{banner}"
    );
    p.signal("TERM");
    let st = p
        .wait_exit(Duration::from_secs(25))
        .unwrap_or_else(|| p.fail("demo did not stop on SIGTERM"));
    assert!(st.success(), "demo exit {st}");
}

#[test]
fn sigterm_with_slow_in_flight_requests_exits_within_shutdown_timeout() {
    let dir = tempdir();
    let target = Target::start(dir.path());
    target.fault(r#"{"latency_ms": 4000}"#);
    let t = target.url();
    let cfg = config_head(dir.path(), "")
        + "shutdown_timeout: 1s\n"
        + "scenarios:\n"
        + &scenario(
            "stuck",
            "{ continuous: true }",
            &t,
            &rate_load(5, "30s"),
            "http_req_failed: [\"rate<0.5\"]",
        );
    let mut d = Daemon::start(dir.path(), "daemon", &cfg);
    let id = d.wait(Duration::from_secs(10), "an active run", || {
        active_run_id(&d, "stuck")
    });
    std::thread::sleep(Duration::from_millis(700)); // a few requests in flight, none answered
    let sent = Instant::now();
    d.proc.signal("TERM");
    let status = d
        .proc
        .wait_exit(Duration::from_secs(4))
        .unwrap_or_else(|| d.proc.fail("no exit within shutdown_timeout (1 s) + 3 s"));
    let took = sent.elapsed();
    assert!(status.success(), "exit {status}");
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    let all = summaries(&dir.path().join("results"));
    let s = all
        .iter()
        .find(|s| s["run_id"] == id.as_str())
        .unwrap_or_else(|| d.proc.fail(&format!("no summary of run {id}: {all:?}")));
    assert_eq!(s["result"], "aborted", "{s}");
}
