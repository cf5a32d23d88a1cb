//! tests/incident.rs — why this exists: the mission of soakd is "raise an incident when a
//! threshold breaches in two consecutive runs". This test proves the whole chain with the real
//! programs, not mocks (issue 4, item 6):
//!
//!   `soakd target` (calibration server) ◀── `soakd run` (continuous scenario, 2 s runs,
//!   `p(95)<100`, `consecutive_breaches: 2`) ──/metrics──▶ Prometheus 2.42 (1 s scrape and
//!   evaluation, the shipped `config/prometheus/soakd-rules.yaml`) ──▶ Alertmanager 0.25 (the
//!   shipped `config/alertmanager/alertmanager.yml`, webhook pointed here, 1 s grouping) ──▶ a
//!   webhook receiver inside this test that records every POST body.
//!
//! It slows the target (`POST /_control {"latency_ms": 300}`) and asserts: no `SoakdIncident`
//! notification while only one run has breached; a `firing` one for the scenario and threshold
//! after the second; after healing the target (`DELETE /_control`) and a passing run, a
//! `resolved` one. Afterwards it asks Prometheus' own history that the alert never fired while
//! the consecutive count was 1, and runs every PromQL expression of the shipped rules and Grafana
//! dashboards against that Prometheus (item 7: a typo'd metric name fails the test).
//!
//! Every process is a plain child on a free 127.0.0.1 port with its files in a temp dir, and is
//! killed by its own PID when the test ends (Drop guard, also on failure). Every wait has a
//! deadline; a timeout fails with the child logs and the webhook log. Missing tools are
//! installed once with `scripts/install-test-tools.sh`, then the test fails loudly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

#[path = "common/mod.rs"]
mod common;

#[allow(dead_code)]
#[path = "dashboards/promql.rs"]
mod promql;

const SCENARIO: &str = "incident_e2e";
const THRESHOLD: &str = "http_req_duration:p(95)<100";
/// A cron scenario of the fixture that never fires during the test (schedule series only).
const CRON_SCENARIO: &str = "incident_cron";
/// The whole test, startup included (issue: under 90 s; observed 14–18 s).
const BUDGET: Duration = Duration::from_secs(150);
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);
const POLL: Duration = Duration::from_millis(100);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn soakd_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_soakd"))
}

// ------------------------------------------------------------------------------- tools

fn search_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push("/usr/local/bin".into());
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".local/bin"));
    }
    dirs.push("/usr/bin".into());
    dirs
}

fn find_any(names: &[&str]) -> Option<PathBuf> {
    names.iter().find_map(|n| {
        search_dirs()
            .into_iter()
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    })
}

static INSTALL: Once = Once::new();
static INSTALL_LOG: Mutex<String> = Mutex::new(String::new());

/// Path of the first of `names` found; runs the installer once if none is, then fails loudly.
fn tool(names: &[&str]) -> PathBuf {
    if let Some(p) = find_any(names) {
        return p;
    }
    INSTALL.call_once(|| {
        let script = root().join("scripts/install-test-tools.sh");
        eprintln!("incident: {names:?} missing, running {}", script.display());
        let mut child = Command::new("bash")
            .arg(&script)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start install-test-tools.sh");
        let start = Instant::now();
        let status = loop {
            if let Some(st) = child.try_wait().expect("wait installer") {
                break Some(st);
            }
            if start.elapsed() > INSTALL_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(POLL);
        };
        let mut out = String::new();
        let mut err = String::new();
        let _ = child.stdout.take().unwrap().read_to_string(&mut out);
        let _ = child.stderr.take().unwrap().read_to_string(&mut err);
        let log = format!("exit {status:?}\nstdout:\n{out}\nstderr:\n{err}");
        eprintln!("incident: installer finished: {log}");
        *INSTALL_LOG.lock().unwrap() = log;
    });
    find_any(names).unwrap_or_else(|| {
        panic!(
            "required tool {names:?} not found in PATH, /usr/local/bin or ~/.local/bin even after \
             scripts/install-test-tools.sh; installer output:\n{}",
            INSTALL_LOG.lock().unwrap()
        )
    })
}

// ------------------------------------------------------------------------------- processes

/// A child process with its log file; killed by its own PID on drop.
struct Proc {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

#[derive(Default)]
struct Procs(Vec<Proc>);

impl Drop for Procs {
    fn drop(&mut self) {
        for p in self.0.iter_mut().rev() {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

// ------------------------------------------------------------------------------- HTTP client

/// One HTTP/1.0 request (the server closes the connection, so no keep-alive or framing games);
/// returns status and body. Chunked answers are decoded anyway.
fn http(method: &str, addr: &str, path: &str, body: Option<&str>) -> Result<(u16, String), String> {
    let sa: SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let mut s = TcpStream::connect_timeout(&sa, Duration::from_secs(2))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    s.set_write_timeout(Some(Duration::from_secs(5))).ok();
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())
        .map_err(|e| format!("write {addr}{path}: {e}"))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .map_err(|e| format!("read {addr}{path}: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{addr}{path}: no header end in {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{addr}{path}: bad status line {head:?}"))?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn get_json(addr: &str, path: &str) -> Result<Value, String> {
    let (st, body) = http("GET", addr, path, None)?;
    if st != 200 {
        return Err(format!("GET {addr}{path}: {st} {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("GET {addr}{path}: {e}: {body}"))
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

// ------------------------------------------------------------------------------- webhook

/// One POST the receiver got: when, and Alertmanager's webhook JSON.
#[derive(Clone, Debug)]
struct Notification {
    at: Instant,
    body: Value,
}

impl Notification {
    /// `(status, labels, annotations)` of each `SoakdIncident` alert in this notification.
    fn incidents(&self) -> Vec<(String, Value, Value)> {
        self.body["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["labels"]["alertname"] == "SoakdIncident")
            .map(|a| {
                (
                    a["status"].as_str().unwrap_or("").to_owned(),
                    a["labels"].clone(),
                    a["annotations"].clone(),
                )
            })
            .collect()
    }
}

type Log = Arc<Mutex<Vec<Notification>>>;

/// A std TcpListener thread that records every request body (the thread ends with the test
/// process; it owns no child process).
fn start_webhook() -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind webhook");
    let addr = listener.local_addr().unwrap().to_string();
    let log: Log = Arc::default();
    let l2 = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let _ = serve_webhook(stream, &l2);
        }
    });
    (addr, log)
}

fn serve_webhook(stream: TcpStream, log: &Log) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut r = BufReader::new(stream.try_clone()?);
    let mut len = 0usize;
    let mut request_line = String::new();
    r.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.trim().eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    let at = Instant::now();
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    eprintln!("incident: webhook got {request_line:?}: {body}");
    log.lock().unwrap().push(Notification { at, body });
    let mut w = stream;
    w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
    w.flush()
}

// ------------------------------------------------------------------------------- harness

struct Harness {
    // Field order is drop order: children die before their temp dir is removed.
    procs: Procs,
    webhook: Log,
    webhook_addr: String,
    dir: tempfile::TempDir,
    start: Instant,
    target: String,
    daemon: String,
    prom: String,
    am: String,
}

impl Harness {
    fn spawn(&mut self, name: &'static str, bin: &Path, args: &[String], envs: &[(&str, &str)]) {
        let log = self.dir.path().join(format!("{name}.log"));
        let mut cmd = common::logged_command(bin, args, self.dir.path(), &log);
        cmd.envs(envs.iter().copied());
        let child = cmd.spawn().unwrap_or_else(|e| {
            self.fail(&format!("cannot start {name} ({}): {e}", bin.display()))
        });
        eprintln!(
            "incident: [{:5.1}s] started {name} pid {} ({} {})",
            self.t(),
            child.id(),
            bin.display(),
            args.join(" ")
        );
        self.procs.0.push(Proc { name, child, log });
    }

    fn t(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    fn notifications(&self) -> Vec<Notification> {
        self.webhook.lock().unwrap().clone()
    }

    /// Fails the test with the child logs (tails) and everything the webhook received.
    fn fail(&self, msg: &str) -> ! {
        let mut dump = String::new();
        for p in &self.procs.0 {
            let text = std::fs::read_to_string(&p.log).unwrap_or_default();
            let tail: String = {
                let lines: Vec<&str> = text.lines().collect();
                lines[lines.len().saturating_sub(60)..].join("\n")
            };
            dump.push_str(&format!(
                "\n----- {} (pid {}) log tail {} -----\n{tail}\n",
                p.name,
                p.child.id(),
                p.log.display()
            ));
        }
        let hooks: Vec<String> = self
            .notifications()
            .iter()
            .map(|n| {
                format!(
                    "  +{:.1}s {}",
                    n.at.duration_since(self.start).as_secs_f64(),
                    n.body
                )
            })
            .collect();
        panic!(
            "incident e2e failed at {:.1}s: {msg}\n----- webhook notifications -----\n{}\n{dump}",
            self.t(),
            hooks.join("\n")
        );
    }

    /// Polls `f` until it returns Some, a child exits, or `timeout` (bounded by the test budget).
    fn wait<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut(&Self) -> Option<T>,
    ) -> T {
        let deadline = (Instant::now() + timeout).min(self.start + BUDGET);
        loop {
            if let Some(v) = f(self) {
                return v;
            }
            let exited: Vec<String> = self
                .procs
                .0
                .iter_mut()
                .filter_map(|p| match p.child.try_wait() {
                    Ok(Some(st)) => Some(format!("{} exited with {st}", p.name)),
                    _ => None,
                })
                .collect();
            if !exited.is_empty() {
                self.fail(&format!("while waiting for {what}: {}", exited.join(", ")));
            }
            if Instant::now() >= deadline {
                self.fail(&format!("timed out waiting for {what} ({timeout:?})"));
            }
            std::thread::sleep(POLL);
        }
    }

    /// A gauge of the daemon's /metrics for our scenario and threshold.
    fn daemon_gauge(&self, name: &str) -> Option<f64> {
        let (st, text) = http("GET", &self.daemon, "/metrics", None).ok()?;
        if st != 200 {
            return None;
        }
        metric_value(&text, name)
    }

    fn prom_query(&self, q: &str) -> Result<Vec<Value>, String> {
        let v = get_json(&self.prom, &format!("/api/v1/query?query={}", enc(q)))?;
        Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
    }

    fn prom_range(&self, q: &str, start: f64, end: f64) -> Result<Vec<Value>, String> {
        let v = get_json(
            &self.prom,
            &format!(
                "/api/v1/query_range?query={}&start={start:.3}&end={end:.3}&step=0.5",
                enc(q)
            ),
        )?;
        if v["status"] != "success" {
            return Err(format!("query_range {q}: {v}"));
        }
        Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
    }

    /// States (`pending`/`firing`) of SoakdIncident alerts Prometheus holds right now.
    fn prom_incident_states(&self) -> Result<Vec<String>, String> {
        let v = get_json(&self.prom, "/api/v1/alerts")?;
        Ok(v["data"]["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["labels"]["alertname"] == "SoakdIncident")
            .map(|a| a["state"].as_str().unwrap_or("").to_owned())
            .collect())
    }

    fn incident_notifications(&self, status: &str) -> Vec<(Instant, Value, Value)> {
        self.notifications()
            .into_iter()
            .flat_map(|n| {
                n.incidents()
                    .into_iter()
                    .filter(|(s, _, _)| s == status)
                    .map(move |(_, l, a)| (n.at, l, a))
            })
            .collect()
    }
}

/// Value of `name{...scenario="incident_e2e",...threshold="http_req_duration:p(95)<100"...}`.
fn metric_value(text: &str, name: &str) -> Option<f64> {
    let scen = format!("scenario=\"{SCENARIO}\"");
    let thr = format!("threshold=\"{THRESHOLD}\"");
    common::sample_value(text, name, &[&scen, &thr])
}

/// The shipped Alertmanager example with the webhook URL pointed at `webhook` and every
/// group_wait / group_interval / repeat_interval shortened. Fails if the shipped file changed so
/// that a replacement no longer applies (the test must keep exercising the shipped routes).
fn alertmanager_config(webhook: &str) -> String {
    let shipped = std::fs::read_to_string(root().join("config/alertmanager/alertmanager.yml"))
        .expect("read config/alertmanager/alertmanager.yml");
    let url = "http://127.0.0.1:9099/incident";
    assert!(
        shipped.contains(url),
        "config/alertmanager/alertmanager.yml no longer has the webhook URL {url}; update tests/incident.rs"
    );
    // The other receivers (pager, default) deliver to the same test webhook, on their own paths.
    let mut text = shipped
        .replace(url, &format!("http://{webhook}/incident"))
        .replace("http://127.0.0.1:9099/", &format!("http://{webhook}/"));
    for (key, value) in [
        ("group_wait", "1s"),
        ("group_interval", "1s"),
        ("repeat_interval", "1h"),
    ] {
        let re = regex::Regex::new(&format!(r"(?m)^(\s*{key}:)\s*\S+\s*$")).unwrap();
        assert!(
            re.find_iter(&text).count() >= 2,
            "config/alertmanager/alertmanager.yml: expected {key} on the root route and the ticket route"
        );
        text = re
            .replace_all(&text, format!("${{1}} {value}"))
            .into_owned();
    }
    text
}

// ------------------------------------------------------------------------------- the test

#[test]
fn incident_fires_after_two_consecutive_breaches_and_resolves() {
    let prometheus = tool(&["prometheus"]);
    let alertmanager = tool(&["prometheus-alertmanager", "alertmanager"]);
    let (webhook_addr, webhook) = start_webhook();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = Harness {
        procs: Procs::default(),
        webhook,
        webhook_addr,
        dir,
        start: Instant::now(),
        target: format!("127.0.0.1:{}", free_port()),
        daemon: format!("127.0.0.1:{}", free_port()),
        prom: format!("127.0.0.1:{}", free_port()),
        am: format!("127.0.0.1:{}", free_port()),
    };
    let d = h.dir.path().to_path_buf();

    // (2) the calibration target
    let target = h.target.clone();
    h.spawn(
        "target",
        &soakd_bin(),
        &["target".into(), "--listen".into(), target],
        &[],
    );
    h.wait("the target to answer /ok", Duration::from_secs(20), |h| {
        (http("GET", &h.target, "/ok", None).ok()?.0 == 200).then_some(())
    });

    // (3) the daemon
    let cfg = std::fs::read_to_string(root().join("tests/fixtures/incident/soakd.yaml"))
        .expect("read fixture")
        .replace("${LISTEN}", &h.daemon)
        .replace("${TARGET}", &format!("http://{}", h.target))
        .replace("${DIR}", &d.display().to_string());
    let cfg_path = d.join("soakd.yaml");
    std::fs::write(&cfg_path, cfg).unwrap();
    h.spawn(
        "soakd",
        &soakd_bin(),
        &[
            "run".into(),
            "--config".into(),
            cfg_path.display().to_string(),
        ],
        &[("SOAKD_LOG", "info")],
    );

    // (4) Alertmanager with the shipped route, webhook pointed here
    let am_cfg = d.join("alertmanager.yml");
    std::fs::write(&am_cfg, alertmanager_config(&h.webhook_addr)).unwrap();
    std::fs::create_dir_all(d.join("am-data")).unwrap();
    let am_args = vec![
        format!("--config.file={}", am_cfg.display()),
        format!("--storage.path={}", d.join("am-data").display()),
        format!("--web.listen-address={}", h.am),
        "--cluster.listen-address=".into(),
    ];
    h.spawn("alertmanager", &alertmanager, &am_args, &[]);

    // (5) Prometheus with the shipped rules
    let rules = root().join("config/prometheus/soakd-rules.yaml");
    let prom_cfg = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - {rules:?}\n\
         alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [{am:?}]\n\
         scrape_configs:\n  - job_name: soakd\n    static_configs:\n      - targets: [{daemon:?}]\n",
        rules = rules.display().to_string(),
        am = h.am,
        daemon = h.daemon,
    );
    let prom_cfg_path = d.join("prometheus.yml");
    std::fs::write(&prom_cfg_path, prom_cfg).unwrap();
    let prom_args = vec![
        format!("--config.file={}", prom_cfg_path.display()),
        format!("--storage.tsdb.path={}", d.join("prom-data").display()),
        format!("--web.listen-address={}", h.prom),
    ];
    h.spawn("prometheus", &prometheus, &prom_args, &[]);

    h.wait("soakd /readyz", Duration::from_secs(30), |h| {
        (http("GET", &h.daemon, "/readyz", None).ok()?.0 == 200).then_some(())
    });
    h.wait("alertmanager /-/ready", Duration::from_secs(30), |h| {
        (http("GET", &h.am, "/-/ready", None).ok()?.0 == 200).then_some(())
    });
    h.wait("prometheus /-/ready", Duration::from_secs(30), |h| {
        (http("GET", &h.prom, "/-/ready", None).ok()?.0 == 200).then_some(())
    });
    let t_ready = h.t();

    // Baseline: a passing run, and Prometheus scraping soakd, evaluating the shipped rules and
    // knowing the Alertmanager (2.42 waits ~5 s before its first discovery).
    h.wait(
        "a passing run (soakd_threshold_breached == 0)",
        Duration::from_secs(30),
        |h| (h.daemon_gauge("soakd_threshold_breached")? == 0.0).then_some(()),
    );
    h.wait(
        "Prometheus to have scraped soakd_incident_open == 0",
        Duration::from_secs(30),
        |h| {
            let q = format!("soakd_incident_open{{scenario=\"{SCENARIO}\"}} == 0");
            (!h.prom_query(&q).ok()?.is_empty()).then_some(())
        },
    );
    h.wait(
        "Prometheus to have loaded the SoakdIncident rule",
        Duration::from_secs(20),
        |h| {
            let v = get_json(&h.prom, "/api/v1/rules?type=alert").ok()?;
            v.to_string().contains("\"SoakdIncident\"").then_some(())
        },
    );
    h.wait(
        "Prometheus to discover the Alertmanager",
        Duration::from_secs(30),
        |h| {
            let v = get_json(&h.prom, "/api/v1/alertmanagers").ok()?;
            (!v["data"]["activeAlertmanagers"].as_array()?.is_empty()).then_some(())
        },
    );
    if !h.incident_notifications("firing").is_empty() {
        h.fail("SoakdIncident notified before the target was slowed");
    }
    let t_baseline = h.t();
    eprintln!("incident: [{t_baseline:5.1}s] baseline ok (all ready at {t_ready:.1}s)");

    // ---- slow the target: every run from now on breaches p(95)<100
    let slowed_at_unix = unix_now();
    match http(
        "POST",
        &h.target,
        "/_control",
        Some(r#"{"latency_ms": 300}"#),
    ) {
        Ok((200, _)) => {}
        other => h.fail(&format!("POST /_control: {other:?}")),
    }
    let t_slow = h.t();
    eprintln!("incident: [{t_slow:5.1}s] target slowed to 300 ms");

    // One breached run: consecutive == 1 on the daemon. For as long as it stays 1, neither the
    // webhook nor Prometheus may hold a SoakdIncident.
    h.wait(
        "the first breached run (consecutive_breaches == 1)",
        Duration::from_secs(20),
        |h| match h.daemon_gauge("soakd_threshold_consecutive_breaches")? {
            1.0 => Some(()),
            c if c >= 2.0 => h.fail(&format!(
                "missed the one-breach state: consecutive_breaches jumped to {c}"
            )),
            _ => None,
        },
    );
    let t_one = h.t();
    eprintln!("incident: [{t_one:5.1}s] daemon: consecutive_breaches = 1");
    let mut one_breach_checks = 0;
    let mut warning_seen = false;
    let t_two_instant = h.wait(
        "the second breached run (consecutive_breaches == 2)",
        Duration::from_secs(20),
        |h| {
            // Both gauges from one scrape: two scrapes can straddle the second run's end.
            let (st, text) = http("GET", &h.daemon, "/metrics", None).ok()?;
            if st != 200 {
                return None;
            }
            if metric_value(&text, "soakd_threshold_consecutive_breaches")? >= 2.0 {
                return Some(Instant::now());
            }
            if metric_value(&text, "soakd_incident_open") == Some(1.0) {
                h.fail("soakd_incident_open == 1 after a single breached run");
            }
            if !h.incident_notifications("firing").is_empty() {
                h.fail("SoakdIncident notified after a single breached run");
            }
            match h.prom_incident_states() {
                Ok(states) if !states.is_empty() => h.fail(&format!(
                    "Prometheus holds SoakdIncident ({states:?}) after a single breached run"
                )),
                _ => {}
            }
            if let Ok(v) = get_json(&h.prom, "/api/v1/alerts") {
                warning_seen |= v.to_string().contains("\"SoakdThresholdBreached\"");
            }
            one_breach_checks += 1;
            None
        },
    );
    let t_two = h.t();
    eprintln!(
        "incident: [{t_two:5.1}s] daemon: consecutive_breaches = 2 (one-breach window {:.1}s, \
         {one_breach_checks} checks, SoakdThresholdBreached seen in Prometheus: {warning_seen})",
        t_two - t_one
    );

    // ---- the ticket
    let (fire_at, labels, annotations) = h.wait(
        "a firing SoakdIncident notification",
        Duration::from_secs(30),
        |h| h.incident_notifications("firing").into_iter().next(),
    );
    let t_fire = fire_at.duration_since(h.start).as_secs_f64();
    if fire_at < t_two_instant {
        h.fail(&format!(
            "SoakdIncident firing notified at {t_fire:.1}s, before the second breached run ({t_two:.1}s)"
        ));
    }
    for (k, want) in [
        ("alertname", "SoakdIncident"),
        ("severity", "ticket"),
        ("scenario", SCENARIO),
        ("threshold", THRESHOLD),
    ] {
        if labels[k] != want {
            h.fail(&format!(
                "firing SoakdIncident label {k} = {} (want {want:?}); labels {labels}",
                labels[k]
            ));
        }
    }
    let descr = annotations["description"].as_str().unwrap_or("");
    if !descr.contains(SCENARIO) || !descr.contains("consecutive runs") || descr.contains('?') {
        h.fail(&format!(
            "SoakdIncident description not filled in: {descr:?}"
        ));
    }
    // The ticket can be acted on: units, the last run's id (the daemon's), its report link.
    let run_id = annotations["run_id"].as_str().unwrap_or("");
    if run_id.is_empty() || run_id == "unknown" || !descr.contains(" ms") {
        h.fail(&format!(
            "SoakdIncident lacks run id or units: {annotations}"
        ));
    }
    let report = annotations["report_url"].as_str().unwrap_or("");
    if report != format!("/api/v1/runs/{run_id}/report.html") {
        h.fail(&format!(
            "SoakdIncident report_url {report:?} is not run {run_id}'s report"
        ));
    }
    for k in ["summary", "runbook_url", "dashboard"] {
        if annotations[k].as_str().unwrap_or("").is_empty() {
            h.fail(&format!(
                "SoakdIncident annotation {k} missing: {annotations}"
            ));
        }
    }
    // Tickets come through incident-webhook; the one-run warnings through `default`, which
    // now delivers too (no severity is routed to an empty receiver).
    let receiver_ok = h.notifications().iter().all(|n| {
        let want = if n.incidents().is_empty() {
            "default"
        } else {
            "incident-webhook"
        };
        n.body["receiver"] == want
    });
    if !receiver_ok {
        h.fail("a notification did not come through the incident-webhook receiver");
    }
    eprintln!(
        "incident: [{t_fire:5.1}s] webhook: SoakdIncident firing ({:.1}s after the second breach); description: {descr}",
        t_fire - t_two
    );

    // ---- heal: a passing run closes the incident and Alertmanager sends the resolve
    match http("DELETE", &h.target, "/_control", None) {
        Ok((200 | 204, _)) => {}
        other => h.fail(&format!("DELETE /_control: {other:?}")),
    }
    let t_heal = h.t();
    eprintln!("incident: [{t_heal:5.1}s] target healed");
    let pass_instant = h.wait(
        "a passing run (soakd_incident_open == 0)",
        Duration::from_secs(20),
        |h| {
            (h.daemon_gauge("soakd_incident_open")? == 0.0
                && h.daemon_gauge("soakd_threshold_consecutive_breaches")? == 0.0)
                .then(Instant::now)
        },
    );
    let t_pass = h.t();
    eprintln!("incident: [{t_pass:5.1}s] daemon: passing run, incident closed");
    let (resolved_at, rlabels, _) = h.wait(
        "a resolved SoakdIncident notification",
        Duration::from_secs(30),
        |h| h.incident_notifications("resolved").into_iter().next(),
    );
    let t_resolved = resolved_at.duration_since(h.start).as_secs_f64();
    if resolved_at < pass_instant {
        h.fail("SoakdIncident resolved before the daemon closed the incident");
    }
    if rlabels["scenario"] != SCENARIO
        || rlabels["threshold"] != THRESHOLD
        || rlabels["severity"] != "ticket"
    {
        h.fail(&format!("resolved SoakdIncident has labels {rlabels}"));
    }
    eprintln!(
        "incident: [{t_resolved:5.1}s] webhook: SoakdIncident resolved ({:.1}s after the passing run)",
        t_resolved - t_pass
    );

    // ---- Prometheus' own history: it saw the one-breach state, and never fired then.
    let end = unix_now();
    let count_expr = format!(
        "max by (scenario, threshold) (soakd_threshold_consecutive_breaches{{scenario=\"{SCENARIO}\"}})"
    );
    let saw_one = h
        .prom_range(&format!("{count_expr} == 1"), slowed_at_unix, end)
        .unwrap_or_else(|e| h.fail(&e));
    if saw_one.is_empty() {
        h.fail("Prometheus never scraped consecutive_breaches == 1: the one-breach check proved nothing");
    }
    let fired_on_one = h
        .prom_range(
            &format!(
                "ALERTS{{alertname=\"SoakdIncident\",alertstate=\"firing\"}} and on (scenario, threshold) ({count_expr} == 1)"
            ),
            slowed_at_unix,
            end,
        )
        .unwrap_or_else(|e| h.fail(&e));
    if !fired_on_one.is_empty() {
        h.fail(&format!(
            "Prometheus fired SoakdIncident while consecutive_breaches was 1: {fired_on_one:?}"
        ));
    }
    let fired = h
        .prom_range(
            "ALERTS{alertname=\"SoakdIncident\",alertstate=\"firing\"}",
            slowed_at_unix,
            end,
        )
        .unwrap_or_else(|e| h.fail(&e));
    if fired.is_empty() {
        h.fail("Prometheus has no ALERTS history for the firing SoakdIncident");
    }
    let checked = check_every_promql(&h);
    eprintln!(
        "incident: [{:5.1}s] {checked} PromQL expressions of the rules and dashboards evaluated against Prometheus",
        h.t()
    );
    let firing_notifications = h.incident_notifications("firing").len();
    eprintln!(
        "incident: [{:5.1}s] done: slowed {t_slow:.1}s → 1 breach {t_one:.1}s → 2 breaches {t_two:.1}s → \
         firing {t_fire:.1}s → healed {t_heal:.1}s → pass {t_pass:.1}s → resolved {t_resolved:.1}s \
         ({firing_notifications} firing notification(s))",
        h.t()
    );
    if h.t() > BUDGET.as_secs_f64() {
        h.fail("over the time budget");
    }
}

// ------------------------------------------------------------------------------- issue 4 item 7

/// Every PromQL expression of the shipped rules (as Prometheus loaded them) and of the Grafana
/// dashboards, run against the real Prometheus after the runs: it must evaluate without error,
/// every metric it names must exist in Prometheus, and it must return data — except an alert
/// condition, whose empty result means "not firing" (`SoakdIncident` is checked for data after
/// the breaches by the test itself), and the dashboard exceptions below. A typo'd metric or
/// label name fails here. Returns the count.
fn check_every_promql(h: &Harness) -> usize {
    let names: std::collections::BTreeSet<String> =
        get_json(&h.prom, "/api/v1/label/__name__/values").unwrap_or_else(|e| h.fail(&e))["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
    let metric_re = regex::Regex::new(
        r"(?:^|[^a-zA-Z0-9_:])(soakd_[a-zA-Z0-9_]+|up|ALERTS)(?:[^a-zA-Z0-9_:(]|$)",
    )
    .unwrap();

    // (source, expr, must return data)
    let mut exprs: Vec<(String, String, bool)> = Vec::new();
    let rules = get_json(&h.prom, "/api/v1/rules").unwrap_or_else(|e| h.fail(&e));
    for g in rules["data"]["groups"].as_array().into_iter().flatten() {
        for r in g["rules"].as_array().into_iter().flatten() {
            let name = r["name"].as_str().unwrap_or("?");
            if r["health"] == "err" {
                h.fail(&format!(
                    "rule {name} failed to evaluate in Prometheus: {}",
                    r["lastError"]
                ));
            }
            let query = r["query"].as_str().unwrap_or("").to_owned();
            let recording = r["type"] == "recording";
            exprs.push((format!("rule {name}"), query, recording));
        }
    }
    if exprs.len() < 10 {
        h.fail(&format!(
            "Prometheus loaded only {} rules from config/prometheus/soakd-rules.yaml",
            exprs.len()
        ));
    }
    for file in ["soakd-overview", "soakd-scenario"] {
        for e in promql::exprs(file) {
            exprs.push((format!("dashboard {file}"), e.expr, !e.event));
        }
    }

    // A dashboard query is run once per scenario of the fixture ($scenario, the other variables
    // at All: `promql::substitute`) and must return data for at least one, except a condition
    // (a comparison with a number, like an alert), an annotation (it marks events) and the
    // documented `promql::MAY_BE_EMPTY` (the fixture has no WebSocket steps, drills, SUT checks
    // or baseline). This Prometheus runs without native histograms: the bare histogram names
    // (`promql::NATIVE_HISTOGRAMS`) do not exist here and the classic half of each `or` answers.
    let mut problems = Vec::new();
    for (source, expr, needs_data) in &exprs {
        for c in metric_re.captures_iter(expr) {
            let m = &c[1];
            let absent_ok =
                promql::NATIVE_HISTOGRAMS.contains(&m) || promql::may_be_empty(m).is_some();
            if !names.contains(m) && !absent_ok {
                problems.push(format!(
                    "{source}: metric {m} does not exist in Prometheus: {expr}"
                ));
            }
        }
        let needs_data =
            *needs_data && !promql::is_condition(expr) && promql::may_be_empty(expr).is_none();
        let variants: Vec<String> = [SCENARIO, CRON_SCENARIO]
            .iter()
            .map(|s| promql::substitute(expr, s))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut data = false;
        for v in &variants {
            match h.prom_query(v) {
                Err(e) => problems.push(format!("{source}: query failed: {e}")),
                Ok(r) => data |= !r.is_empty(),
            }
        }
        if needs_data && !data {
            problems.push(format!("{source}: no data: {expr}"));
        }
    }
    let variable = get_json(
        &h.prom,
        &format!(
            "/api/v1/label/scenario/values?match[]={}",
            enc("soakd_runs_total")
        ),
    )
    .unwrap_or_else(|e| h.fail(&e));
    if !variable.to_string().contains(SCENARIO) {
        problems.push(format!("dashboard variable label_values(soakd_runs_total, scenario) lacks {SCENARIO}: {variable}"));
    }
    if !problems.is_empty() {
        h.fail(&format!(
            "PromQL of the shipped rules/dashboards against the real Prometheus:\n  {}",
            problems.join("\n  ")
        ));
    }
    exprs.len()
}

#[test]
fn derived_alertmanager_config_keeps_the_shipped_route() {
    let text = alertmanager_config("127.0.0.1:1234");
    assert!(
        text.contains("url: http://127.0.0.1:1234/incident"),
        "{text}"
    );
    assert!(!text.contains("9099"), "{text}");
    assert!(text.contains("severity=\"ticket\""), "{text}");
    assert!(text.contains("send_resolved: true"), "{text}");
    for slow in ["10s", "30s", "1m", "5m", "4h", "12h"] {
        assert!(
            !text.contains(&format!("group_wait: {slow}"))
                && !text.contains(&format!("group_interval: {slow}"))
                && !text.contains(&format!("repeat_interval: {slow}")),
            "{slow} left in {text}"
        );
    }
}

#[test]
fn metric_value_reads_labelled_gauges() {
    let text = "# TYPE soakd_incident_open gauge\n\
        soakd_incident_open{scenario=\"other\",threshold=\"http_req_duration:p(95)<100\"} 1\n\
        soakd_incident_open{scenario=\"incident_e2e\",threshold=\"http_req_duration:p(95)<100\"} 0\n\
        soakd_incident_open_x{scenario=\"incident_e2e\",threshold=\"http_req_duration:p(95)<100\"} 5\n";
    assert_eq!(metric_value(text, "soakd_incident_open"), Some(0.0));
    assert_eq!(metric_value(text, "soakd_threshold_breached"), None);
    assert_eq!(dechunk("4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n"), "abcdef");
}
