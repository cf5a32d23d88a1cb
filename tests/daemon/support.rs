//! Helpers of the daemon acceptance tests: child processes that die with the test, a raw
//! HTTP/1.1 client, a tiny /metrics reader and bounded polling.
//!
//! Every process started here is a direct child of the test, held by a [`Proc`] guard that
//! SIGKILLs exactly that PID on drop; signals go through `kill -SIG PID` to that PID only.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_soakd");

/// A free port on 127.0.0.1 (bound, then released).
pub fn free_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr")
}

/// A child process killed (SIGKILL, this PID only) when the guard drops.
pub struct Proc {
    child: Child,
    pub name: String,
    pub stderr: PathBuf,
    pub stdout: PathBuf,
    status: Option<ExitStatus>,
}

impl Proc {
    /// Starts `soakd ARGS…` with stdout/stderr captured into `logs/NAME.{out,err}`.
    pub fn soakd(name: &str, args: &[&str], logs: &Path, env: &[(&str, &str)]) -> Proc {
        let mut env = env.to_vec();
        env.insert(0, ("SOAKD_LOG", "info"));
        Self::program(name, Path::new(BIN), args, logs, &env)
    }

    /// Starts any `program ARGS…` (a test server such as moto) the same way.
    pub fn program(
        name: &str,
        program: &Path,
        args: &[&str],
        logs: &Path,
        env: &[(&str, &str)],
    ) -> Proc {
        let stdout = logs.join(format!("{name}.out"));
        let stderr = logs.join(format!("{name}.err"));
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("create stdout log"))
            .stderr(std::fs::File::create(&stderr).expect("create stderr log"))
            .env_remove("SOAKD_CONFIG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {} {args:?}: {e}", program.display()));
        Proc {
            child,
            name: name.to_string(),
            stderr,
            stdout,
            status: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `sig` (e.g. "TERM", "HUP", "KILL") to this child only.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{sig} {} failed", self.pid());
    }

    /// The exit status if the child has exited.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status
    }

    /// Waits for the child to exit, at most `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + limit;
        loop {
            if let Some(s) = self.try_status() {
                return Some(s);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL and reap (what a crash looks like to the daemon).
    pub fn kill(&mut self) {
        if self.try_status().is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn stdout_text(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// Panics with the child's logs attached.
    pub fn fail(&self, msg: &str) -> ! {
        panic!(
            "{msg}\n--- {} stdout ---\n{}\n--- {} stderr (tail) ---\n{}",
            self.name,
            self.stdout_text(),
            self.name,
            tail(&self.stderr_text(), 60)
        );
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), 10 s bound.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() || method != "GET" {
        req.push_str("Content-Type: application/json\r\n");
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "no header end"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "no status"))?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Ok(Resp {
        status,
        headers: head.to_string(),
        body,
    })
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

/// Polls `f` every 100 ms until it yields, at most `limit`; panics naming `what`.
pub fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out after {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One sample line: (name, labels, value).
pub type Sample = (String, Vec<(String, String)>, f64);

/// A parsed `/metrics` exposition.
pub struct Exposition {
    pub text: String,
    pub samples: Vec<Sample>,
}

impl Exposition {
    pub fn parse(text: String) -> Exposition {
        let mut samples = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("sample without value");
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
            };
            let (name, labels) = match series.split_once('{') {
                None => (series.to_string(), vec![]),
                Some((n, l)) => (n.to_string(), parse_labels(l.trim_end_matches('}'))),
            };
            samples.push((name, labels, value));
        }
        Exposition { text, samples }
    }

    /// Value of the one sample `name` whose labels include every `want` pair.
    pub fn value(&self, name: &str, want: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|(n, l, _)| {
                n == name
                    && want
                        .iter()
                        .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|s| s.2)
    }

    /// Sum over every sample `name` whose labels include every `want` pair.
    pub fn sum(&self, name: &str, want: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && want
                        .iter()
                        .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|s| s.2)
            .sum()
    }

    pub fn has_label(&self, key: &str, value: &str) -> bool {
        self.samples
            .iter()
            .any(|(_, l, _)| l.iter().any(|(k, v)| k == key && v == value))
    }
}

fn parse_labels(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(eq) = rest.find("=\"") {
        let key = rest[..eq].trim_start_matches(',').to_string();
        let mut val = String::new();
        let mut it = rest[eq + 2..].char_indices();
        let mut end = rest.len();
        while let Some((i, c)) = it.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = it.next() {
                        val.push(if n == 'n' { '\n' } else { n });
                    }
                }
                '"' => {
                    end = eq + 2 + i + 1;
                    break;
                }
                c => val.push(c),
            }
        }
        out.push((key, val));
        rest = &rest[end..];
    }
    out
}

/// The calibration target as its own process (`soakd target`).
pub struct Target {
    /// Held for its kill-on-drop.
    _proc: Proc,
    pub addr: SocketAddr,
}

impl Target {
    pub fn start(logs: &Path) -> Target {
        let addr = free_addr();
        let proc = Proc::soakd(
            "target",
            &["target", "--listen", &addr.to_string()],
            logs,
            &[],
        );
        let t = Target { _proc: proc, addr };
        wait_for(Duration::from_secs(15), "target answers /ok", || {
            http(t.addr, "GET", "/ok", &[], None)
                .ok()
                .filter(|r| r.status == 200)
        });
        t
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `POST /_control` with a JSON fault patch, e.g. `{"latency_ms": 300}`.
    pub fn fault(&self, json: &str) {
        let r = http(self.addr, "POST", "/_control", &[], Some(json)).expect("POST /_control");
        assert!(r.status < 300, "POST /_control {json}: {r:?}");
    }

    /// `DELETE /_control`: every fault off.
    pub fn heal(&self) {
        let r = http(self.addr, "DELETE", "/_control", &[], None).expect("DELETE /_control");
        assert!(r.status < 300, "DELETE /_control: {r:?}");
    }
}

/// A `soakd run --config FILE` child with its config in a temp dir.
pub struct Daemon {
    pub proc: Proc,
    pub addr: SocketAddr,
    pub config: PathBuf,
}

impl Daemon {
    /// Writes `config` (with `${LISTEN}` replaced) to `dir/soakd.yaml` and starts the daemon.
    pub fn start(dir: &Path, name: &str, config: &str) -> Daemon {
        let addr = free_addr();
        let path = dir.join("soakd.yaml");
        std::fs::write(&path, config.replace("${LISTEN}", &addr.to_string())).expect("write cfg");
        Self::start_at(dir, name, addr, path)
    }

    fn start_at(dir: &Path, name: &str, addr: SocketAddr, path: PathBuf) -> Daemon {
        let proc = Proc::soakd(
            name,
            &["run", "--config", path.to_str().expect("utf-8 path")],
            dir,
            &[],
        );
        let mut d = Daemon {
            proc,
            addr,
            config: path,
        };
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http(d.addr, "GET", "/healthz", &[], None)
                && r.status == 200
            {
                break;
            }
            if let Some(s) = d.proc.try_status() {
                d.proc.fail(&format!("daemon exited early: {s}"));
            }
            if Instant::now() > end {
                d.proc.fail("daemon did not answer /healthz within 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    /// /metrics as OpenMetrics (asked for, as Prometheus does; without `Accept` it is 0.0.4).
    pub fn metrics(&self) -> Exposition {
        let accept = [("Accept", "application/openmetrics-text; version=1.0.0")];
        let r = http(self.addr, "GET", "/metrics", &accept, None)
            .unwrap_or_else(|e| self.proc.fail(&format!("GET /metrics: {e}")));
        assert_eq!(r.status, 200, "/metrics: {r:?}");
        assert!(
            r.headers
                .to_ascii_lowercase()
                .contains("content-type: application/openmetrics-text"),
            "{}",
            r.headers
        );
        Exposition::parse(r.body)
    }

    pub fn get(&self, path: &str) -> Resp {
        http(self.addr, "GET", path, &[], None)
            .unwrap_or_else(|e| self.proc.fail(&format!("GET {path}: {e}")))
    }

    /// `wait_for` that attaches the daemon's log to a timeout.
    pub fn wait<T>(&self, limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        let end = Instant::now() + limit;
        loop {
            if let Some(v) = f() {
                return v;
            }
            if Instant::now() >= end {
                self.proc
                    .fail(&format!("timed out after {limit:?}: {what}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The config head shared by the tests; `${LISTEN}` is filled in by [`Daemon::start`].
pub fn config_head(dir: &Path, extra: &str) -> String {
    format!(
        "server: {{ listen: \"${{LISTEN}}\"{extra} }}\n\
         state_dir: \"{d}/state\"\n\
         results: {{ dir: \"{d}/results\", retention: 1d }}\n\
         safety: {{ allowed_hosts: [\"127.0.0.1\"], max_rps: 1000 }}\n\
         defaults: {{ timeout: 5s }}\n",
        d = dir.display()
    )
}

/// Every file below `dir`, recursively.
#[allow(dead_code)] // used by crash.rs, secrets.rs and status_page.rs, not daemon.rs
pub fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}
