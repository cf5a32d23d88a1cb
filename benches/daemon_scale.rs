//! The daemon under read load and at scale (issue 13 acceptance), in one process: the daemon on
//! its own 2-worker runtime (as `soakd run` on 2 cores), the calibration target on another, the
//! HTTP clients on plain threads.
//!
//! - `api`: 5,000 summaries in today's results dir, 20 requests/s to `/api/v1/scenarios` and
//!   `/` while a 200/s scenario runs 20 s. Goals: 0 dropped iterations, generator lag p99 < 5 ms.
//! - `scale`: 1,000 continuous scenarios (`support/many_scenarios.rs`) whose 10 s runs all end
//!   together three times, `/metrics` scraped 4 times a second for 33 s. Goals: `/metrics` p99
//!   < 1 s, peak RSS ≤ 300 MB (the whole process: daemon, target and clients).
//!
//! `cargo bench --bench daemon_scale [-- api|scale]` (about 90 s in all, every loop bounded);
//! `cargo bench --bench daemon_scale -- config N` prints the generated config. Under
//! `cargo test --all-targets` (no `--bench` flag) it only says how to run it.

#[path = "support/many_scenarios.rs"]
mod many_scenarios;

use soakd::app::{App, Shard};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if words.first() == Some(&"config") {
        let n = words.get(1).and_then(|n| n.parse().ok()).unwrap_or(1000);
        print!(
            "{}",
            many_scenarios::config(n, "http://127.0.0.1:8080", "/tmp/soakd", "10s", "2s")
        );
        return;
    }
    if !args.iter().any(|a| a == "--bench") {
        println!("daemon_scale: a benchmark; run it with `cargo bench --bench daemon_scale`");
        return;
    }
    let mut ok = true;
    if words.is_empty() || words.contains(&"api") {
        ok &= api();
    }
    if words.is_empty() || words.contains(&"scale") {
        ok &= scale();
    }
    if !ok {
        std::process::exit(1);
    }
}

fn runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The calibration target on a runtime of its own (kept alive by the caller).
fn target() -> (tokio::runtime::Runtime, testbed::TargetHandle) {
    let rt = runtime(1);
    let t = rt
        .block_on(testbed::spawn("127.0.0.1:0".parse().expect("addr")))
        .expect("target");
    (rt, t)
}

/// The daemon of `yaml`, serving on an ephemeral port; the time `App::new` took (it builds
/// the results index).
fn daemon(rt: &tokio::runtime::Runtime, yaml: &str) -> (Arc<App>, SocketAddr, Duration) {
    let loaded = soakd::config::load_str("<bench>", yaml, None).expect("config");
    let plan = soakd::plan::compile_loaded(&loaded).unwrap_or_else(|e| panic!("plan: {}", e[0]));
    rt.block_on(async {
        let t0 = Instant::now();
        let app = App::new(plan, None, Shard::WHOLE).await.expect("daemon");
        let took = t0.elapsed();
        let listener = soakd::server::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let handle: soakd::server::Handle = app.clone();
        tokio::spawn(soakd::server::serve(listener, handle));
        (app, addr, took)
    })
}

/// One `GET` on a fresh connection: status, time to the last byte, body length.
fn get(addr: SocketAddr, path: &str) -> (u16, Duration, usize) {
    let t0 = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).ok();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let status = std::str::from_utf8(buf.get(9..12).unwrap_or_default())
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, t0.elapsed(), buf.len())
}

/// `(p50, p99, max)` in ms.
fn quantiles(mut v: Vec<Duration>) -> (f64, f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.99), at(1.0))
}

/// `VmRSS` and `VmHWM` of this process in MB.
fn rss_mb() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
}

fn verdict(name: &str, met: bool) -> bool {
    println!("  goal {name}: {}", if met { "met" } else { "MISSED" });
    met
}

/// A summary as big as a real one (20 requests, a few thresholds), for `scenario`.
fn fake_summary(scenario: &str, run_id: &str, started: chrono::DateTime<chrono::Utc>) -> String {
    let times = r#"{"avg":12.1,"min":1.2,"max":180.4,"p50":9.8,"p90":22.0,"p95":31.5,"p99":77.3}"#;
    let requests: Vec<String> = (0..20)
        .map(|i| format!(r#""req_{i}":{{"requests_total":1200,"requests_per_second":20.0,"error_rate":0.001,"response_times_ms":{times}}}"#))
        .collect();
    let ended = started + chrono::Duration::seconds(60);
    format!(
        r#"{{"run_id":"{run_id}","scenario":"{scenario}","started_at":"{}","ended_at":"{}","duration_seconds":60.0,"result":"pass","metrics":{{"requests_total":24000,"requests_per_second":400.0,"error_rate":0.001,"iterations":24000,"dropped_iterations":0,"response_times_ms":{times}}},"requests":{{{}}},"checks":{{"status":{{"passes":24000,"fails":0}}}},"thresholds":[{{"threshold":"http_req_duration:p(95)<250","observed":31.5,"limit":250.0,"breached":false}}],"consecutive_breaches":{{}}}}"#,
        started.to_rfc3339(),
        ended.to_rfc3339(),
        requests.join(",")
    )
}

fn api() -> bool {
    println!(
        "api: 5,000 summaries today, 20 req/s to /api/v1/scenarios and /, a 200/s run of 20 s"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (_trt, target) = target();
    let names: Vec<String> = std::iter::once("steady".to_string())
        .chain((0..9).map(|i| format!("other_{i}")))
        .collect();
    let now = chrono::Utc::now();
    let today = dir
        .path()
        .join("results")
        .join(now.format("%Y-%m-%d").to_string());
    std::fs::create_dir_all(&today).expect("results day");
    let midnight = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    for i in 0..5_000 {
        let scenario = &names[i % names.len()];
        let id = format!("bench{i:05}");
        let started = midnight + (now - midnight) * (i as i32) / 5_001;
        let path = today.join(format!("{scenario}-{id}.json"));
        std::fs::write(path, fake_summary(scenario, &id, started)).expect("summary");
    }
    let mut yaml = format!(
        "server: {{ listen: \"127.0.0.1:0\" }}\nstate_dir: \"{d}/state\"\nresults: {{ dir: \"{d}/results\", retention: 7d }}\nsafety: {{ allowed_hosts: [\"127.0.0.1\"] }}\nscenarios:\n",
        d = dir.path().display()
    );
    for n in &names {
        let load = if n == "steady" {
            "{ executor: constant-arrival-rate, rate: 200, time_unit: 1s, duration: 20s, pre_allocated_vus: 20, max_vus: 100 }"
        } else {
            "{ executor: constant-vus, vus: 1, duration: 1s }"
        };
        yaml.push_str(&format!(
            "  {n}:\n    target: {{ base_url: \"{}\" }}\n    load: {load}\n    mix: [ {{ name: ok, request: {{ url: /ok }} }} ]\n",
            target.url()
        ));
    }
    let rt = runtime(2);
    let (app, addr, built) = daemon(&rt, &yaml);
    println!(
        "  daemon start with the results index built: {:.0} ms",
        built.as_secs_f64() * 1e3
    );

    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let (mut api, mut page, mut bad) = (Vec::new(), Vec::new(), 0);
            let start = Instant::now();
            let mut n = 0u32;
            // 20 a second, alternating; at most 30 s.
            while !stop.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(30) {
                let due = Duration::from_millis(50) * n;
                if let Some(wait) = due.checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
                let path = if n.is_multiple_of(2) {
                    "/api/v1/scenarios"
                } else {
                    "/"
                };
                let (status, took, _) = get(addr, path);
                bad += u32::from(status != 200);
                if n.is_multiple_of(2) {
                    &mut api
                } else {
                    &mut page
                }
                .push(took);
                n += 1;
            }
            (api, page, bad)
        })
    };
    let (id, done) = rt
        .block_on(async { app.start_run("steady") })
        .expect("run starts");
    let _ = rt.block_on(done);
    stop.store(true, Ordering::Relaxed);
    let (api_lat, page_lat, bad) = reader.join().expect("reader");
    let s = app.results.get(&id).expect("the run's summary");
    let m = &s["metrics"];
    let dropped = m["dropped_iterations"].as_u64().unwrap_or(u64::MAX);
    let lag_p99 = m["generator_lag_ms"]["p99"].as_f64().unwrap_or(f64::MAX);
    println!(
        "  run: {} iterations, {} dropped, generator lag p50 {:.3} ms p99 {:.3} ms max {:.3} ms",
        m["iterations"],
        dropped,
        m["generator_lag_ms"]["p50"].as_f64().unwrap_or(0.0),
        lag_p99,
        m["generator_lag_ms"]["max"].as_f64().unwrap_or(0.0)
    );
    let (a50, a99, amax) = quantiles(api_lat.clone());
    let (p50, p99, pmax) = quantiles(page_lat.clone());
    println!(
        "  GET /api/v1/scenarios: {} requests, p50 {a50:.2} ms p99 {a99:.2} ms max {amax:.2} ms",
        api_lat.len()
    );
    println!(
        "  GET /: {} requests, p50 {p50:.2} ms p99 {p99:.2} ms max {pmax:.2} ms; non-200: {bad}",
        page_lat.len()
    );
    rt.block_on(app.stop());
    let mut ok = verdict("0 dropped iterations", dropped == 0);
    ok &= verdict("generator lag p99 < 5 ms", lag_p99 < 5.0);
    ok &= verdict("every read answered 200", bad == 0);
    ok
}

fn scale() -> bool {
    const N: usize = 1_000;
    println!(
        "scale: {N} continuous scenarios, 10 s runs ending together, /metrics 4 times a second"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (_trt, target) = target();
    let yaml = many_scenarios::config(
        N,
        &target.url(),
        &dir.path().display().to_string(),
        "10s",
        "2s",
    );
    let rt = runtime(2);
    let (app, addr, _) = daemon(&rt, &yaml);
    let (idle, _) = rss_mb();
    println!("  RSS with the plan loaded, before any run: {idle:.0} MB");
    rt.block_on(async { app.start_triggers() });
    let (mut scrapes, mut lists, mut bad, mut bytes) = (Vec::new(), Vec::new(), 0, 0);
    let start = Instant::now();
    let mut n = 0u32;
    // 33 s: the runs end together at about 10, 20 and 30 s.
    while start.elapsed() < Duration::from_secs(33) {
        let due = Duration::from_millis(250) * n;
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        let (status, took, len) = get(addr, "/metrics");
        bad += u32::from(status != 200);
        bytes = bytes.max(len);
        scrapes.push(took);
        if n.is_multiple_of(4) {
            let (status, took, _) = get(addr, "/api/v1/scenarios");
            bad += u32::from(status != 200);
            lists.push(took);
        }
        n += 1;
    }
    let (rss, hwm) = rss_mb();
    let finished = app
        .plan()
        .scenarios
        .keys()
        .filter(|s| app.last_run(s).is_some())
        .count();
    let (m50, m99, mmax) = quantiles(scrapes.clone());
    let (l50, l99, lmax) = quantiles(lists.clone());
    println!(
        "  GET /metrics: {} scrapes of up to {:.1} MB, p50 {m50:.0} ms p99 {m99:.0} ms max {mmax:.0} ms",
        scrapes.len(),
        bytes as f64 / 1e6
    );
    println!(
        "  GET /api/v1/scenarios: {} requests, p50 {l50:.0} ms p99 {l99:.0} ms max {lmax:.0} ms; non-200: {bad}",
        lists.len()
    );
    println!(
        "  scenarios with a finished run: {finished} of {N}; RSS now {rss:.0} MB, peak {hwm:.0} MB"
    );
    rt.block_on(app.stop());
    let mut ok = verdict("/metrics p99 < 1 s", m99 < 1000.0);
    ok &= verdict("peak RSS <= 300 MB", hwm <= 300.0);
    ok &= verdict("every read answered 200", bad == 0);
    ok
}
