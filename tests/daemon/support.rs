//! Helpers of the daemon acceptance tests: the calibration target and the daemon as child
//! processes that die with the test, and bounded polling.
//!
//! The child-process guard, the HTTP client, the /metrics reader and the metric list are the
//! shared ones of `tests/common` (one each for every test binary), re-exported here so the
//! daemon tests keep writing `support::{Proc, http, Exposition}`.

#[path = "../common/exposition.rs"]
mod exposition;
#[path = "../common/metrics.rs"]
pub mod metrics;
#[path = "../common/process.rs"]
mod process;
#[path = "../common/wire.rs"]
mod wire;

// Each test binary uses some of these; the others would warn as unused imports.
#[allow(unused_imports)]
pub use exposition::{Exposition, Sample};
#[allow(unused_imports)]
pub use process::{BIN, Proc};
pub use wire::{Resp, free_addr};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), 10 s bound.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<Resp> {
    wire::request(addr, method, path, headers, body, Duration::from_secs(10))
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
