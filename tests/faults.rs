//! The fault matrix (issue 8): every way a target can misbehave comes back as the right
//! `reason`, and the daemon stays up with bounded memory through all of them.
//!
//! Faults come from raw-socket servers on 127.0.0.1 (reset mid-body, stall, slowloris, garbage),
//! from the in-process calibration target (`huge_body_bytes` set through `POST /_control`, and
//! plain HTTP answering a TLS handshake), from a port nobody listens on, and from a host name
//! that cannot resolve. That name has a 70-character label: glibc refuses it before building a
//! DNS query, so no packet leaves the machine (a plain `x.invalid` name would still be sent to
//! the configured resolver).
//!
//! Run with `cargo test --test faults -- --nocapture` to see the matrix.

#[allow(dead_code)]
#[path = "daemon/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use soakd::plan::compile_loaded;
use soakd::run::{RunControl, execute};
use support::{Daemon, Exposition, http};

/// How each raw server misbehaves after reading a request.
#[derive(Clone, Copy)]
enum Misbehave {
    /// Headers with `Content-Length: 1000`, 10 bytes of body, then a TCP RST.
    ResetMidBody,
    /// Never answers (holds the connection until the client gives up).
    Stall,
    /// Headers, then one body byte every 200 ms.
    Slowloris,
    /// Bytes that are not HTTP, then close.
    Garbage,
}

/// A raw TCP server on 127.0.0.1 with one thread per connection; every thread is bounded in
/// time and the accept loop stops when the guard drops.
struct RawServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl RawServer {
    fn start(mode: Misbehave) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind raw server");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let accept = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let flag = flag.clone();
                        std::thread::spawn(move || serve(stream, mode, &flag));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        RawServer {
            addr,
            stop,
            accept: Some(accept),
        }
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request head (up to the blank line), at most 2 s.
fn read_head(s: &mut TcpStream) -> bool {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 64 * 1024 {
            return false;
        }
    }
    true
}

fn serve(mut s: TcpStream, mode: Misbehave, stop: &AtomicBool) {
    if !read_head(&mut s) {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    match mode {
        Misbehave::ResetMidBody => {
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n0123456789",
            );
            let _ = s.flush();
            std::thread::sleep(Duration::from_millis(20));
            // SO_LINGER 0 turns close into a RST.
            let sock = socket2::Socket::from(s);
            let _ = sock.set_linger(Some(Duration::ZERO));
            drop(sock);
        }
        Misbehave::Stall => {
            // Wait for the client to hang up (read returns 0) or the bound.
            let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
            let mut b = [0u8; 64];
            while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                match s.read(&mut b) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => return,
                }
            }
        }
        Misbehave::Slowloris => {
            if s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n",
            )
            .is_err()
            {
                return;
            }
            for _ in 0..1000 {
                if Instant::now() > deadline || stop.load(Ordering::Relaxed) {
                    return;
                }
                if s.write_all(b"x").and_then(|_| s.flush()).is_err() {
                    return; // the client gave up
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        Misbehave::Garbage => {
            let _ = s.write_all(b"HELLO I AM NOT HTTP\r\n\x00\x01\x02 garbage garbage\r\n\r\n");
            let _ = s.flush();
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A port on 127.0.0.1 that nobody listens on (bound, then released).
fn refused_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    format!("http://127.0.0.1:{port}/")
}

/// A `.invalid` name with a 70-character label: never resolves, and glibc rejects it before
/// sending any DNS query.
fn unresolvable_url() -> String {
    format!("http://soakd-does-not-exist-{}.invalid/", "x".repeat(43))
}

/// Every fault source, alive for one test.
struct Faults {
    _rt: tokio::runtime::Runtime,
    _target: testbed::TargetHandle,
    _servers: Vec<RawServer>,
    /// (fault, URL, expected reason), in matrix order.
    rows: Vec<(&'static str, String, &'static str)>,
}

fn faults() -> Faults {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let target = rt
        .block_on(testbed::spawn("127.0.0.1:0".parse().unwrap()))
        .expect("calibration target");
    // The 100 MB body, switched on the way users do it.
    let r = http(
        target.addr(),
        "POST",
        "/_control",
        &[],
        Some(r#"{"huge_body_bytes": 100000000}"#),
    )
    .expect("POST /_control");
    assert!(r.status < 300, "POST /_control: {r:?}");

    let reset = RawServer::start(Misbehave::ResetMidBody);
    let stall = RawServer::start(Misbehave::Stall);
    let slow = RawServer::start(Misbehave::Slowloris);
    let garbage = RawServer::start(Misbehave::Garbage);
    let rows = vec![
        ("connection refused", refused_url(), "connect"),
        ("reset mid-body", reset.url(), "reset"),
        ("stall past timeout", stall.url(), "timeout"),
        ("slowloris body", slow.url(), "timeout"),
        (
            "100 MB body (cap 1 MiB)",
            format!("{}/ok", target.url()),
            "body_too_large",
        ),
        ("malformed HTTP", garbage.url(), "protocol"),
        (
            "TLS to a plain server",
            format!("https://{}/ok", target.addr()),
            "tls",
        ),
        ("DNS does not resolve", unresolvable_url(), "connect"),
    ];
    Faults {
        _rt: rt,
        _target: target,
        _servers: vec![reset, stall, slow, garbage],
        rows,
    }
}

/// A scenario name for a fault row: `f0`…`f7`.
fn scenario_name(i: usize) -> String {
    format!("f{i}")
}

/// One scenario block; every entry of `urls` is a request of the mix.
fn scenario_yaml(name: &str, schedule: &str, load: &str, urls: &[(String, &str)]) -> String {
    let mut s = format!(
        "  {name}:\n\
        \x20   schedule: {schedule}\n\
        \x20   target: {{ timeout: 500ms, max_body_bytes: 1048576 }}\n\
        \x20   load: {load}\n\
        \x20   mix:\n"
    );
    for (req, url) in urls {
        s.push_str(&format!(
            "      - {{ name: {req}, request: {{ url: \"{url}\" }} }}\n"
        ));
    }
    s
}

/// Failures by reason of request 0 after one short run of `url` through `run::execute`.
fn classify_with_library(rt: &tokio::runtime::Runtime, url: &str) -> BTreeMap<String, u64> {
    let yaml = format!(
        "scenarios:\n{}",
        scenario_yaml(
            "fault",
            "manual",
            "{ executor: per-vu-iterations, vus: 1, iterations: 2, max_duration: 20s }",
            &[("r".to_string(), url)]
        )
    );
    let loaded =
        soakd::config::load_str("faults.yaml", &yaml, Some(BTreeMap::new())).expect("loads");
    let plan = compile_loaded(&loaded).unwrap_or_else(|e| panic!("{yaml}\n{e:?}"));
    let scenario = plan.scenarios["fault"].clone();
    let report = rt.block_on(execute(RunControl::new(scenario, None)));
    report
        .snapshot
        .request_reasons(0)
        .filter(|(_, n)| *n > 0)
        .map(|(r, n)| (r.as_str().to_string(), n))
        .collect()
}

#[test]
fn each_fault_is_classified_by_its_reason_through_run_execute() {
    let f = faults();
    let mut wrong = Vec::new();
    for (fault, url, want) in &f.rows {
        let started = Instant::now();
        let got = classify_with_library(&f._rt, url);
        eprintln!(
            "{fault:<26} -> {got:?} ({} ms)",
            started.elapsed().as_millis()
        );
        if got.keys().collect::<Vec<_>>() != [want] || got[*want] != 2 {
            wrong.push(format!("{fault}: expected 2 × {want}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Resident set size of `pid` in KiB (from /proc/PID/status).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS line")
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Starts a manual run of `scenario` through the API, then polls /healthz every 100 ms until
/// the run is counted on /metrics; returns (healthz checks, all 200?).
fn run_and_watch(d: &Daemon, token: &str, scenario: &str) -> (u32, bool) {
    let auth = format!("Bearer {token}");
    let r = http(
        d.addr,
        "POST",
        &format!("/api/v1/scenarios/{scenario}/runs"),
        &[("Authorization", &auth)],
        Some(""),
    )
    .unwrap_or_else(|e| d.proc.fail(&format!("start {scenario}: {e}")));
    assert!(r.status < 300, "start {scenario}: {r:?}");
    let end = Instant::now() + Duration::from_secs(30);
    let (mut checks, mut all_up) = (0, true);
    loop {
        let up = http(d.addr, "GET", "/healthz", &[], None).is_ok_and(|r| r.status == 200);
        checks += 1;
        all_up &= up;
        if !up {
            break;
        }
        let done = d
            .metrics()
            .sum("soakd_runs_total", &[("scenario", scenario)])
            >= 1.0;
        if done {
            break;
        }
        if Instant::now() > end {
            d.proc
                .fail(&format!("run of {scenario} did not finish in 30 s"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (checks, all_up)
}

/// Failures by reason of `scenario` (and `request`, if given) on /metrics.
fn reasons(m: &Exposition, scenario: &str, request: Option<&str>) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for s in &m.samples {
        let (get, v) = (|k: &str| s.label(k), &s.value);
        if s.name == "soakd_http_request_failures_total"
            && *v > 0.0
            && get("scenario") == Some(scenario)
            && request.is_none_or(|r| get("request") == Some(r))
        {
            *out.entry(get("reason").unwrap_or("?").to_string())
                .or_insert(0.0) += v;
        }
    }
    out
}

fn config(dir: &Path, rows: &[(&'static str, String, &'static str)]) -> String {
    let one = "{ executor: constant-arrival-rate, rate: 10, time_unit: 1s, duration: 1s, pre_allocated_vus: 5, max_vus: 20 }";
    let mixed = "{ executor: constant-arrival-rate, rate: 40, time_unit: 1s, duration: 4s, pre_allocated_vus: 20, max_vus: 60 }";
    let mut cfg = format!(
        "server: {{ listen: \"${{LISTEN}}\", admin_token_file: \"{d}/token\" }}\n\
         state_dir: \"{d}/state\"\n\
         results: {{ dir: \"{d}/results\", retention: 1d }}\n\
         scenarios:\n",
        d = dir.display()
    );
    let mut all = Vec::new();
    for (i, (_, url, _)) in rows.iter().enumerate() {
        cfg.push_str(&scenario_yaml(
            &scenario_name(i),
            "manual",
            one,
            &[(format!("r{i}"), url.as_str())],
        ));
        all.push((format!("r{i}"), url.as_str()));
    }
    cfg.push_str(&scenario_yaml("mixed", "manual", mixed, &all));
    cfg
}

#[test]
fn the_daemon_stays_up_with_bounded_memory_through_every_fault() {
    let f = faults();
    let dir = tempfile::Builder::new()
        .prefix("soakd-faults-")
        .tempdir()
        .expect("tempdir");
    let token = format!("faults-{}", uuid::Uuid::new_v4().simple());
    std::fs::write(dir.path().join("token"), &token).expect("token file");
    let d = Daemon::start(dir.path(), "daemon", &config(dir.path(), &f.rows));
    let pid = d.proc.pid();
    let start_rss = rss_kib(pid);

    let mut matrix = Vec::new();
    let mut wrong = Vec::new();
    for (i, (fault, _, want)) in f.rows.iter().enumerate() {
        let name = scenario_name(i);
        let before = rss_kib(pid);
        let (checks, up) = run_and_watch(&d, &token, &name);
        let after = rss_kib(pid);
        let got = reasons(&d.metrics(), &name, None);
        if got.keys().collect::<Vec<_>>() != [want] {
            wrong.push(format!("{fault}: expected only {want}, got {got:?}"));
        }
        if !up {
            wrong.push(format!("{fault}: /healthz stopped answering 200"));
        }
        matrix.push((fault.to_string(), got, up, checks, before, after));
    }

    // Every fault at once, 40 requests/s for 4 s.
    let before = rss_kib(pid);
    let (checks, up) = run_and_watch(&d, &token, "mixed");
    let after = rss_kib(pid);
    let m = d.metrics();
    for (i, (fault, _, want)) in f.rows.iter().enumerate() {
        let got = reasons(&m, "mixed", Some(&format!("r{i}")));
        if got.keys().collect::<Vec<_>>() != [want] {
            wrong.push(format!(
                "mixed / {fault}: expected only {want}, got {got:?}"
            ));
        }
    }
    if !up {
        wrong.push("mixed: /healthz stopped answering 200".into());
    }
    matrix.push((
        "all 8 mixed, 40 rps × 4 s".to_string(),
        reasons(&m, "mixed", None),
        up,
        checks,
        before,
        after,
    ));
    let end_rss = rss_kib(pid);

    eprintln!(
        "\n{:<28} | {:<40} | {:<16} | RSS before → after",
        "fault", "reason (failures)", "daemon up"
    );
    eprintln!("{}", "-".repeat(112));
    for (fault, got, up, checks, before, after) in &matrix {
        let got = got
            .iter()
            .map(|(r, n)| format!("{r} ({n})"))
            .collect::<Vec<_>>()
            .join(", ");
        let up = format!("{} ({checks}× 200)", if *up { "yes" } else { "NO" });
        eprintln!(
            "{fault:<28} | {got:<40} | {up:<16} | {} → {}",
            mib(*before),
            mib(*after)
        );
    }
    eprintln!(
        "daemon RSS: {} after start, {} at the end\n",
        mib(start_rss),
        mib(end_rss)
    );

    assert!(d.get("/healthz").status == 200, "daemon down at the end");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(
        end_rss < 2 * start_rss + 20 * 1024,
        "RSS grew from {} to {}",
        mib(start_rss),
        mib(end_rss)
    );
}
