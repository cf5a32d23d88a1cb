//! Verdicts through the real binary (issue 12): sharded daemons judge volume limits on their
//! share and interleave their arrivals into one even stream, `soakd check` shows the limits and
//! the pace a replica or a scaled run will use, and `soakd once` against a hung target exits 99.
//! The target is the in-process calibration target; every child process is killed by PID on
//! drop and every wait is bounded.

#[path = "daemon/support.rs"]
#[allow(dead_code)]
mod support;

use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use support::*;

fn target() -> (tokio::runtime::Runtime, testbed::TargetHandle) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let t = rt
        .block_on(testbed::spawn("127.0.0.1:0".parse().unwrap()))
        .expect("the calibration target starts on loopback");
    (rt, t)
}

/// The summaries written under `dir/results`.
fn summaries(dir: &Path) -> Vec<Value> {
    files(&dir.join("results"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter_map(|p| serde_json::from_slice(&std::fs::read(p).ok()?).ok())
        .collect()
}

/// `soakd run --shard I/3` with its own listener, state and results under `dir`.
fn replica(dir: &Path, index: u32, scenario: &str) -> (Proc, std::net::SocketAddr) {
    std::fs::create_dir_all(dir).unwrap();
    let addr = free_addr();
    let cfg = config_head(dir, "").replace("${LISTEN}", &addr.to_string()) + scenario;
    let path = dir.join("soakd.yaml");
    std::fs::write(&path, cfg).unwrap();
    let shard = format!("{index}/3");
    let p = Proc::soakd(
        &format!("replica{index}"),
        &["run", "--config", path.to_str().unwrap(), "--shard", &shard],
        dir,
        &[],
    );
    wait_for(Duration::from_secs(20), "replica answers /healthz", || {
        http(addr, "GET", "/healthz", &[], None)
            .ok()
            .filter(|r| r.status == 200)
    });
    (p, addr)
}

#[test]
fn three_replicas_pass_a_30_per_second_plan_and_make_one_even_stream() {
    let (_rt, t) = target();
    let tmp = tempfile::tempdir().unwrap();
    // One fire, a few seconds ahead, the same wall-clock second for all three replicas.
    let fire = chrono::Utc::now() + chrono::Duration::seconds(6);
    let cron = fire.format("%S %M %H * * *").to_string();
    let scenario = format!(
        "scenarios:\n\
        \x20 even:\n\
        \x20   schedule: {{ cron: \"{cron}\", timezone: UTC }}\n\
        \x20   target: {{ base_url: \"{url}\" }}\n\
        \x20   load: {{ executor: constant-arrival-rate, rate: 30, time_unit: 1s, duration: 4s, pre_allocated_vus: 6, max_vus: 12 }}\n\
        \x20   mix: [ {{ name: ok, request: {{ url: /ok }} }} ]\n\
        \x20   thresholds: {{ http_reqs: [\"rate>=25\"] }}\n",
        url = t.url()
    );
    t.record_arrivals(10_000);
    let replicas: Vec<_> = (0..3)
        .map(|i| replica(&tmp.path().join(format!("r{i}")), i, &scenario))
        .collect();
    assert!(
        chrono::Utc::now() < fire,
        "the replicas started before the fire"
    );
    let dirs: Vec<_> = (0..3).map(|i| tmp.path().join(format!("r{i}"))).collect();
    let done = wait_for(
        Duration::from_secs(30),
        "a summary from every replica",
        || {
            let all: Vec<Value> = dirs
                .iter()
                .filter_map(|d| summaries(d).into_iter().next())
                .collect();
            (all.len() == 3).then_some(all)
        },
    );
    for (i, s) in done.iter().enumerate() {
        let th = &s["thresholds"][0];
        println!(
            "replica {i}/3: {} requests, result {}, {} observed {} against {}",
            s["metrics"]["requests_total"],
            s["result"],
            th["threshold"],
            th["observed"],
            th["limit"]
        );
        assert_eq!(s["result"], "pass", "replica {i}: {s}");
        assert_eq!(th["threshold"], "http_reqs:rate>=25");
        let limit = th["limit"].as_f64().unwrap();
        assert!(
            (limit - 25.0 / 3.0).abs() < 1e-9,
            "judged against 25/3: {limit}"
        );
    }
    for (i, (_, addr)) in replicas.iter().enumerate() {
        let m = Exposition::parse(http(*addr, "GET", "/metrics", &[], None).unwrap().body);
        assert_eq!(
            m.value("soakd_vus", &[("scenario", "even")]),
            Some(0.0),
            "replica {i}: no VU active between runs"
        );
    }

    let at = t.arrivals();
    let span = at.last().unwrap().duration_since(at[0]).as_secs_f64();
    let rate = (at.len() - 1) as f64 / span;
    let tightest = at
        .windows(3)
        .map(|w| w[2].duration_since(w[0]))
        .min()
        .unwrap();
    let widest = at
        .windows(2)
        .map(|w| w[1].duration_since(w[0]))
        .max()
        .unwrap();
    println!(
        "target saw {} requests over {span:.3} s = {rate:.2}/s; tightest 3 arrivals {tightest:?}, widest gap {widest:?}",
        at.len()
    );
    assert_eq!(at.len(), 120, "3 replicas × 10/s × 4 s");
    assert!((rate - 30.0).abs() <= 0.9, "30/s ± 3 %: {rate:.2}/s");
    // An even 30/s stream has 66.7 ms between arrivals i and i+2; three replicas firing together
    // would put three requests within a millisecond or so.
    assert!(
        tightest >= Duration::from_micros(33_333),
        "a 3-request burst: 3 arrivals within {tightest:?}"
    );
    drop(replicas);
}

#[test]
fn check_prints_the_limits_of_a_replica_and_the_same_pace_at_any_time_scale() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = "scenarios:\n\
        \x20 open:\n\
        \x20   target: { base_url: \"http://127.0.0.1:9\" }\n\
        \x20   load: { executor: constant-arrival-rate, rate: 30, time_unit: 1s, duration: 1m, pre_allocated_vus: 6, max_vus: 12 }\n\
        \x20   mix: [ { name: ok, request: { url: /ok } } ]\n\
        \x20   thresholds: { http_reqs: [\"rate>=25\", \"count>=1500\"], http_req_failed: [\"rate<0.01\"], http_req_duration: [\"p(95)<250\"] }\n\
        \x20 closed:\n\
        \x20   target: { base_url: \"http://127.0.0.1:9\" }\n\
        \x20   load: { executor: constant-vus, vus: 10, duration: 10m }\n\
        \x20   mix:\n\
        \x20     - name: browse\n\
        \x20       steps:\n\
        \x20         - { name: page, request: { url: /ok } }\n\
        \x20         - think: 50ms..150ms\n";
    let path = tmp.path().join("soakd.yaml");
    std::fs::write(&path, cfg).unwrap();
    let check = |extra: &[&str]| {
        let out = std::process::Command::new(BIN)
            .args(["check", "--config", path.to_str().unwrap()])
            .args(extra)
            .env_remove("SOAKD_SHARD")
            .output()
            .expect("soakd check runs");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let whole = check(&[]);
    let shard = check(&["--shard", "1/3"]);
    let scaled = check(&["--time-scale", "0.1"]);
    println!("--- soakd check --shard 1/3\n{shard}--- soakd check --time-scale 0.1\n{scaled}");
    assert!(
        whole.contains("http_reqs:rate>=25 (judged against 25)"),
        "{whole}"
    );
    assert!(
        shard.contains("http_reqs:rate>=25 (judged against 8.33)"),
        "{shard}"
    );
    assert!(
        shard.contains("http_reqs:count>=1500 (judged against 500)"),
        "{shard}"
    );
    assert!(
        shard.contains("http_req_failed:rate<0.01\n"),
        "ratios as written: {shard}"
    );
    assert!(shard.contains("http_req_duration:p(95)<250\n"), "{shard}");
    assert!(
        shard.contains("expected rate: 10.0 requests/s at peak"),
        "{shard}"
    );
    for out in [&whole, &scaled] {
        assert!(
            out.contains("expected rate: 30.0 requests/s at peak"),
            "{out}"
        );
        assert!(
            out.contains("expected rate: at most 100.0 requests/s (10 VUs, 100 ms think"),
            "{out}"
        );
    }
    assert!(scaled.contains("6s"), "the timeline is scaled: {scaled}");
}

#[test]
fn once_against_a_stalled_target_exits_99() {
    let (_rt, t) = target();
    t.faults()
        .set(testbed::FaultConfig {
            stall_ms: Some(60_000),
            ..Default::default()
        })
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("summary.json");
    let url = format!("{}/ok", t.url());
    let t0 = Instant::now();
    let out = std::process::Command::new(BIN)
        .args([
            "once",
            "--url",
            &url,
            "--rate",
            "5",
            "--duration",
            "2s",
            "--quiet",
        ])
        .args(["--summary-export", export.to_str().unwrap()])
        .env_remove("SOAKD_CONFIG")
        .output()
        .expect("soakd once runs");
    let took = t0.elapsed();
    let summary: Value = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    println!(
        "soakd once on a 60 s stall: exit {:?} after {took:?}; reason {}",
        out.status.code(),
        summary["reason"]
    );
    assert_eq!(
        out.status.code(),
        Some(99),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(summary["result"], "fail");
    assert_eq!(summary["metrics"]["requests_total"], 10);
    assert_eq!(
        summary["requests"]["request"]["failures"]["interrupted"],
        10
    );
    assert!(took < Duration::from_secs(30), "{took:?}");
}

#[test]
fn sigterm_past_shutdown_timeout_records_the_requests_in_flight_as_interrupted() {
    let (_rt, t) = target();
    t.faults()
        .set(testbed::FaultConfig {
            stall_ms: Some(60_000),
            ..Default::default()
        })
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let cfg = config_head(tmp.path(), "").replace("${LISTEN}", &addr.to_string())
        + "shutdown_timeout: 1s\n"
        + &format!(
            "scenarios:\n\
            \x20 stuck:\n\
            \x20   schedule: {{ continuous: true }}\n\
            \x20   target: {{ base_url: \"{}\" }}\n\
            \x20   load: {{ executor: constant-arrival-rate, rate: 5, time_unit: 1s, duration: 30s, pre_allocated_vus: 20, max_vus: 40 }}\n\
            \x20   mix: [ {{ name: ok, request: {{ url: /ok }} }} ]\n",
            t.url()
        );
    let path = tmp.path().join("soakd.yaml");
    std::fs::write(&path, cfg).unwrap();
    let mut d = Proc::soakd(
        "stuck",
        &["run", "--config", path.to_str().unwrap()],
        tmp.path(),
        &[],
    );
    wait_for(Duration::from_secs(20), "requests in flight", || {
        (t.stats().stalls_injected >= 5).then_some(())
    });
    d.signal("TERM");
    let status = d
        .wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| d.fail("no exit within shutdown_timeout (1 s) + 4 s"));
    assert!(status.success(), "exit {status}");
    let all = summaries(tmp.path());
    assert_eq!(all.len(), 1, "{all:?}");
    let s = &all[0];
    let started = t.stats().stalls_injected;
    println!(
        "SIGTERM with {started} stalled requests: result {}, {} requests, failures {}",
        s["result"], s["metrics"]["requests_total"], s["requests"]["ok"]["failures"]
    );
    assert_eq!(s["result"], "aborted");
    assert_eq!(
        s["metrics"]["requests_total"], started,
        "every started request"
    );
    assert_eq!(s["requests"]["ok"]["failures"]["interrupted"], started);
}
