//! Hostile input at the CLI and on reload (issue 14): every bad config is refused by the real
//! binary with exit 2, quickly and without a panic; a FIFO or an alias bomb can neither hang
//! `soakd check` nor stall a running daemon's reload; closed pipes are not crashes.

#[path = "daemon/support.rs"]
#[allow(dead_code)] // the shared helpers of the daemon tests; this file uses a few
mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config")
}

/// `soakd check --config PATH` with no `SOAKD_*` variables but `env`; (exit code, stderr, time).
fn check(path: &Path, env: &[(&str, &str)]) -> (Option<i32>, String, Duration) {
    let mut cmd = Command::new(BIN);
    cmd.args(["check", "--config"])
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("SOAKD") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    let t0 = Instant::now();
    let mut child = cmd.spawn().expect("spawn soakd check");
    let mut err = String::new();
    // A hang would block here; the FIFO test below is the one that would hang without the fix,
    // and it reads stderr on another thread with a bound.
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    let status = child.wait().expect("wait");
    (status.code(), err, t0.elapsed())
}

/// Peak RSS (kB) of the largest waited-for child of this process so far.
fn children_max_rss_kb() -> i64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    u.ru_maxrss
}

#[test]
fn every_invalid_fixture_exits_2_quickly_in_bounded_memory_without_a_panic() {
    let mut slowest = (Duration::ZERO, String::new());
    let mut n = 0;
    for entry in std::fs::read_dir(fixtures()).expect("fixtures").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("invalid-") && name.ends_with(".yaml")) {
            continue;
        }
        let (code, err, took) = check(&entry.path(), &[]);
        assert_eq!(code, Some(2), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(
            err.contains(&format!("{name}: ")),
            "{name} not named: {err}"
        );
        if took > slowest.0 {
            slowest = (took, name);
        }
        n += 1;
    }
    assert!(n >= 100, "only {n} fixtures");
    // Debug build on a shared machine: the bound is generous; release takes a few ms each.
    assert!(
        slowest.0 < Duration::from_secs(5),
        "{} took {:?}",
        slowest.1,
        slowest.0
    );
    let rss = children_max_rss_kb();
    assert!(rss < 100 * 1024, "a check peaked at {rss} kB");
    eprintln!(
        "{n} fixtures; slowest {} in {:?}; peak RSS {rss} kB",
        slowest.1, slowest.0
    );
}

const SMALL: &str = r#"
server: { listen: "${LISTEN}" }
state_dir: "${DIR}/state"
results: { dir: "${DIR}/results" }
${DATA}
scenarios:
  feed:
    target: { base_url: "http://127.0.0.1:9" }
    load: { executor: constant-vus, vus: 1, duration: 1s }
    mix: [ { name: a, request: { url: "/ok" } } ]
"#;

fn small(dir: &Path, data: &str) -> String {
    SMALL
        .replace("${DIR}", &dir.display().to_string())
        .replace("${DATA}", data)
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().expect("utf-8")).expect("no NUL");
    // SAFETY: a valid C string; mkfifo only creates the node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

#[test]
fn a_fifo_as_config_or_as_data_pool_is_refused_by_check_without_hanging() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("pool.csv");
    mkfifo(&fifo);
    let cfg = dir.path().join("soakd.yaml");
    std::fs::write(
        &cfg,
        small(dir.path(), "data:\n  creds: { file: pool.csv }"),
    )
    .unwrap();
    let (code, err, _) = check(&cfg, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{}: data.creds.file: {}: is a FIFO, not a regular file",
            cfg.display(),
            fifo.display()
        )),
        "{err}"
    );
    let (code, err, _) = check(&fifo, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{}: is a FIFO, not a regular file",
            fifo.display()
        )),
        "{err}"
    );
}

/// A file of `len` bytes that takes no disk (sparse): sizes are real, the disk is not used.
fn sparse_file(path: &std::path::Path, len: u64) {
    std::fs::File::create(path)
        .expect("create file")
        .set_len(len)
        .expect("set its length");
}

#[test]
fn an_oversized_config_or_data_pool_is_refused_naming_the_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Sparse files: the size is real, the disk is not used.
    let big = dir.path().join("big.yaml");
    sparse_file(&big, 5 << 20);
    let (code, err, _) = check(&big, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "is 5242880 bytes, above the limit of 4194304 bytes for a config file (4 MiB)"
        ),
        "{err}"
    );
    let pool = dir.path().join("pool.csv");
    sparse_file(&pool, 300 << 20);
    let cfg = dir.path().join("soakd.yaml");
    std::fs::write(
        &cfg,
        small(dir.path(), "data:\n  creds: { file: pool.csv }"),
    )
    .unwrap();
    let (code, err, _) = check(&cfg, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "is 314572800 bytes, above the limit of 16777216 bytes for a data pool (16 MiB)"
        ),
        "{err}"
    );
    let rows = dir.path().join("rows.csv");
    let mut text = String::from("id\n");
    for i in 0..100_001 {
        text.push_str(&format!("{i}\n"));
    }
    std::fs::write(&rows, text).unwrap();
    std::fs::write(
        &cfg,
        small(dir.path(), "data:\n  creds: { file: rows.csv }"),
    )
    .unwrap();
    let (code, err, _) = check(&cfg, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("has more than 100000 rows (the limit for a data pool)"),
        "{err}"
    );
}

#[test]
fn max_rps_inf_from_the_environment_is_rejected_by_check() {
    let cfg = fixtures().join("valid-full.yaml");
    let (code, _, _) = check(&cfg, &[]);
    assert_eq!(code, Some(0), "valid-full.yaml is valid");
    for bad in ["inf", "NaN", "-inf", "1e400"] {
        let (code, err, _) = check(&cfg, &[("SOAKD__SAFETY__MAX_RPS", bad)]);
        assert_eq!(code, Some(2), "{bad}: {err}");
        assert!(
            err.contains(&format!(
                "env SOAKD__SAFETY__MAX_RPS: safety.max_rps: \"{bad}\" is not a finite number"
            )),
            "{bad}: {err}"
        );
    }
}

#[test]
fn check_into_a_closed_pipe_does_not_panic() {
    for cfg in [
        "valid-full.yaml",
        "invalid-three-mistakes-in-two-scenarios.yaml",
    ] {
        let mut child = Command::new(BIN)
            .args(["check", "--config"])
            .arg(fixtures().join(cfg))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // Like `| head -0`: the reader is gone before soakd writes a byte.
        drop(child.stdout.take());
        drop(child.stderr.take());
        let status = child.wait().expect("wait");
        assert!(
            matches!(status.code(), Some(0 | 2)),
            "{cfg}: {status} (101 is a panic)"
        );
    }
}

#[test]
fn check_warns_about_a_cron_that_never_fires() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("soakd.yaml");
    let text = small(dir.path(), "").replace(
        "  feed:\n",
        "  feed:\n    schedule: { cron: \"0 0 30 2 *\" }\n",
    );
    std::fs::write(&cfg, text.replace("${LISTEN}", "127.0.0.1:9464")).unwrap();
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .expect("run check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("warning: this cron expression never fires"),
        "{stdout}"
    );
}

/// The daemon keeps serving /metrics within 1 s while a reload meets `bad`, and refuses it.
fn reload_is_refused_while_metrics_keep_answering(dir: &Path, bad: &str) {
    let d = Daemon::start(dir, "daemon", &small(dir, ""));
    std::fs::write(&d.config, bad.replace("${LISTEN}", &d.addr.to_string())).unwrap();
    d.proc.signal("HUP");
    let t0 = Instant::now();
    d.wait(Duration::from_secs(20), "the reload to be refused", || {
        let started = Instant::now();
        let m = d.metrics();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "/metrics took {:?} during the reload",
            started.elapsed()
        );
        (m.value("soakd_config_last_reload_successful", &[]) == Some(0.0)).then_some(())
    });
    assert!(t0.elapsed() < Duration::from_secs(20));
    let scenarios = d.get("/api/v1/scenarios").json();
    assert_eq!(scenarios["scenarios"][0]["name"], "feed", "old plan kept");
}

#[test]
fn a_fifo_pool_on_reload_is_refused_and_the_daemon_keeps_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    mkfifo(&dir.path().join("pool.csv"));
    let bad = small(dir.path(), "data:\n  creds: { file: pool.csv }");
    reload_is_refused_while_metrics_keep_answering(dir.path(), &bad);
}

#[test]
fn an_alias_bomb_on_reload_is_refused_and_the_daemon_keeps_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bomb = std::fs::read_to_string(fixtures().join("invalid-yaml-alias-bomb.yaml")).unwrap();
    reload_is_refused_while_metrics_keep_answering(dir.path(), &bomb);
}

#[test]
fn a_template_loop_at_run_time_is_stopped_by_fuel_while_healthz_keeps_answering() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Row 1 (n = 1) is what the check-time render sees; row 2 makes a 10^10-step loop.
    std::fs::write(dir.path().join("n.csv"), "n\n1\n100000\n").unwrap();
    let cfg = small(dir.path(), "data:\n  n: { file: n.csv, pick: round_robin }")
        .replace(
            "    load: { executor: constant-vus, vus: 1, duration: 1s }\n",
            "    schedule: { continuous: true }\n    load: { executor: constant-vus, vus: 2, duration: 2s }\n",
        )
        .replace(
            r#"request: { url: "/ok" }"#,
            r#"request: { url: "/ok", headers: { X-Loop: "{% for i in range(data.n.n|int) %}{% for j in range(data.n.n|int) %}{% endfor %}{% endfor %}" } }"#,
        );
    let d = Daemon::start(dir.path(), "daemon", &cfg);
    let end = Instant::now() + Duration::from_secs(3);
    let mut answered = 0;
    while Instant::now() < end {
        let t0 = Instant::now();
        let r = d.get("/healthz");
        assert_eq!(r.status, 200);
        assert!(
            t0.elapsed() < Duration::from_secs(1),
            "/healthz took {:?}",
            t0.elapsed()
        );
        answered += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(answered >= 10, "{answered}");
    let failed = d.wait(Duration::from_secs(10), "template failures", || {
        let n = d.metrics().sum(
            "soakd_http_request_failures_total",
            &[("scenario", "feed"), ("reason", "template")],
        );
        (n > 0.0).then_some(n)
    });
    assert!(failed > 0.0);
    assert!(
        d.proc.stderr_text().contains("template did not render")
            || d.proc.stdout_text().contains("template did not render"),
        "the render error is logged"
    );
}

#[test]
fn with_a_state_dir_that_refuses_writes_the_incident_still_opens_and_the_error_counter_moves() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Nothing listens on port 9: every request fails, every run breaches.
    let cfg = small(dir.path(), "").replace(
        "    load: { executor: constant-vus, vus: 1, duration: 1s }\n",
        "    schedule: { continuous: true }\n    load: { executor: constant-vus, vus: 1, duration: 1s }\n    thresholds: { http_req_failed: [\"rate<0.01\"] }\n    incident: { consecutive_breaches: 2 }\n",
    );
    let d = Daemon::start(dir.path(), "daemon", &cfg);
    // Tests run as root, for whom a read-only mode is no obstacle: a non-empty directory where
    // the state file goes makes every atomic rename onto it fail, as a full or read-only disk.
    let state_file = dir.path().join("state").join(soakd::state::STATE_FILE);
    std::fs::create_dir_all(state_file.join("blocker")).unwrap();
    let th = [
        ("scenario", "feed"),
        ("threshold", "http_req_failed:rate<0.01"),
    ];
    let errors = d.wait(Duration::from_secs(30), "an open incident", || {
        let m = d.metrics();
        (m.value("soakd_incident_open", &th) == Some(1.0))
            .then(|| m.value("soakd_state_write_errors_total", &[]))
    });
    assert!(errors.is_some_and(|n| n >= 2.0), "{errors:?}");
    let m = d.metrics();
    assert!(m.value("soakd_threshold_consecutive_breaches", &th) >= Some(2.0));
    // The disk accepts writes again: the next run persists the streak, by itself.
    std::fs::remove_dir_all(&state_file).unwrap();
    let saved = d.wait(Duration::from_secs(30), "the state file", || {
        std::fs::read_to_string(&state_file).ok()
    });
    assert!(saved.contains("http_req_failed:rate<0.01"), "{saved}");
}

#[test]
fn a_trace_level_websocket_run_leaks_no_secret_on_any_channel() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = Target::start(dir.path());
    let token = format!("wstok{}", uuid::Uuid::new_v4().simple());
    let key = format!("poolkey{}", uuid::Uuid::new_v4().simple());
    std::fs::write(
        dir.path().join("creds.json"),
        format!(r#"[{{"key": "{key}"}}]"#),
    )
    .unwrap();
    let addr = free_addr();
    let cfg = format!(
        "server: {{ listen: \"{addr}\" }}\n\
         state_dir: \"{d}/state\"\n\
         results: {{ dir: \"{d}/results\" }}\n\
         safety: {{ allowed_hosts: [\"127.0.0.1\"] }}\n\
         data:\n  creds: {{ file: creds.json, secret_fields: [key] }}\n\
         scenarios:\n\
         \x20 chat:\n\
         \x20   schedule: {{ continuous: true }}\n\
         \x20   target: {{ base_url: \"{t}\" }}\n\
         \x20   load: {{ executor: constant-vus, vus: 1, duration: 1s }}\n\
         \x20   mix:\n\
         \x20     - name: ws\n\
         \x20       websocket:\n\
         \x20         url: /ws/chat\n\
         \x20         duration: 300ms\n\
         \x20         headers: {{ Authorization: \"Bearer {{{{ env.SOAKD_TEST_WS_TOKEN }}}}\", X-Api-Key: \"{{{{ data.creds.key }}}}\" }}\n",
        d = dir.path().display(),
        t = target.url(),
    );
    let path = dir.path().join("soakd.yaml");
    std::fs::write(&path, cfg).unwrap();
    let mut proc = Proc::soakd(
        "trace",
        &["run", "--config", path.to_str().expect("utf-8")],
        dir.path(),
        // Dependencies stay at warn unless named (src/logs.rs): name them, so their own trace
        // output (the WebSocket handshake with its headers) goes through the redaction too.
        &[
            (
                "SOAKD_LOG",
                "trace,hyper=trace,hyper_util=trace,h2=trace,rustls=trace,tungstenite=trace,tokio_tungstenite=trace",
            ),
            ("SOAKD_TEST_WS_TOKEN", &token),
        ],
    );
    let sessions = wait_for(Duration::from_secs(30), "WebSocket sessions", || {
        let r = http(addr, "GET", "/metrics", &[], None).ok()?;
        let m = Exposition::parse(r.body);
        let n = m.sum("soakd_ws_sessions_total", &[("scenario", "chat")]);
        (n >= 2.0).then_some(n)
    });
    assert!(sessions >= 2.0);
    proc.signal("TERM");
    proc.wait_exit(Duration::from_secs(20));
    let logs = proc.stderr_text() + &proc.stdout_text();
    assert!(
        logs.len() > 10_000,
        "trace output is there: {} bytes",
        logs.len()
    );
    assert!(
        logs.contains("[redacted]"),
        "the handshake was logged, masked"
    );
    for secret in [&token, &key] {
        assert!(
            !logs.contains(secret.as_str()),
            "{secret} leaked into the logs"
        );
    }
}

#[test]
fn an_idle_half_sent_api_request_is_cut_by_the_header_timeout() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start(dir.path(), "daemon", &small(dir.path(), ""));
    let mut s = std::net::TcpStream::connect(d.addr).expect("connect");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: soakd\r\n")
        .expect("half a request");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let t0 = Instant::now();
    let mut rest = Vec::new();
    // The server closes the connection (perhaps after a 408): the read ends, it does not hang.
    let _ = s.read_to_end(&mut rest);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(40),
        "cut after {took:?} (timeout 10 s)"
    );
    assert_eq!(d.get("/healthz").status, 200, "the daemon serves others");
}
