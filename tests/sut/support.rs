//! Helpers of tests/sut.rs: a real Prometheus (Debian's 2.42) as a child process on a free
//! 127.0.0.1 port scraping the calibration target every second, `soakd` children, and a small
//! async HTTP helper. Every child is killed by its own PID when the guard drops (also on
//! failure); a missing Prometheus is installed once with scripts/install-test-tools.sh, then the
//! test fails loudly — never skips.

#![allow(dead_code)]

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use soakd::client::{ClientOptions, HttpClient, http};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

fn find(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/local/bin".into(), "/usr/bin".into()]);
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".local/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

static INSTALL: Once = Once::new();
static INSTALL_LOG: Mutex<String> = Mutex::new(String::new());

/// The `prometheus` binary; runs the installer once when missing, then panics if still absent.
pub fn prometheus_bin() -> PathBuf {
    if let Some(p) = find("prometheus") {
        return p;
    }
    INSTALL.call_once(|| {
        let out = Command::new("bash")
            .arg(root().join("scripts/install-test-tools.sh"))
            .stdin(Stdio::null())
            .output();
        let log = match out {
            Ok(o) => format!(
                "{}\n{}\n{}",
                o.status,
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => format!("cannot run the installer: {e}"),
        };
        *INSTALL_LOG.lock().unwrap() = log;
    });
    find("prometheus").unwrap_or_else(|| {
        panic!(
            "prometheus not found even after scripts/install-test-tools.sh:\n{}",
            INSTALL_LOG.lock().unwrap()
        )
    })
}

/// Child processes with their logs; killed by PID on drop.
pub struct Procs {
    pub dir: tempfile::TempDir,
    children: Vec<(String, Child, PathBuf)>,
}

impl Procs {
    pub fn new() -> Procs {
        Procs {
            dir: tempfile::tempdir().expect("tempdir"),
            children: Vec::new(),
        }
    }

    pub fn spawn(&mut self, name: &str, bin: &Path, args: &[String]) {
        let log = self.dir.path().join(format!("{name}.log"));
        let mut cmd = crate::common::logged_command(bin, args, self.dir.path(), &log);
        cmd.env("SOAKD_LOG", "info");
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({}): {e}", bin.display()));
        self.children.push((name.to_string(), child, log));
    }

    /// Tails of every child's log, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for (name, child, log) in &self.children {
            let mut text = String::new();
            if let Ok(mut f) = std::fs::File::open(log) {
                let _ = f.read_to_string(&mut text);
            }
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(40)..].join("\n");
            out.push_str(&format!(
                "\n----- {name} (pid {}) -----\n{tail}\n",
                child.id()
            ));
        }
        out
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for (_, child, _) in self.children.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One request; (status, body).
pub async fn call(method: &str, url: &str, body: Option<&str>) -> Result<(u16, String), String> {
    let client = HttpClient::new(&ClientOptions::default()).map_err(|e| e.to_string())?;
    let req = http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.unwrap_or("").to_owned())))
        .map_err(|e| e.to_string())?;
    let resp = client
        .send(req, Duration::from_secs(5))
        .await
        .map_err(|r| format!("{method} {url}: {r}"))?;
    Ok((
        resp.status,
        String::from_utf8_lossy(&resp.body).into_owned(),
    ))
}

/// `POST {target}/_control` with `body`, asserting 200.
pub async fn control(target: &str, body: &str) {
    let (st, text) = call("POST", &format!("{target}/_control"), Some(body))
        .await
        .expect("POST /_control");
    assert_eq!(st, 200, "POST /_control {body}: {text}");
}

/// Polls `f` every 100 ms until it returns Some or `timeout` passes (then panics with `what`).
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, procs: &Procs, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if Instant::now() >= deadline {
            panic!(
                "timed out after {timeout:?} waiting for {what}{}",
                procs.logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The first sample's value of an instant query, if any.
pub async fn prom_value(prom: &str, q: &str) -> Option<f64> {
    let enc: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let (st, body) = call("GET", &format!("{prom}/api/v1/query?query={enc}"), None)
        .await
        .ok()?;
    if st != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

/// Starts Prometheus scraping `target_addr` (host:port) every second; returns its base URL
/// once it has scraped `demo_memory_ratio` at least once.
pub async fn start_prometheus(procs: &mut Procs, target_addr: &str) -> String {
    let bin = prometheus_bin();
    let addr = format!("127.0.0.1:{}", free_port());
    let d = procs.dir.path().to_path_buf();
    let cfg = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: [{target_addr:?}]\n"
    );
    let cfg_path = d.join("prometheus.yml");
    std::fs::write(&cfg_path, cfg).unwrap();
    let args = vec![
        format!("--config.file={}", cfg_path.display()),
        format!("--storage.tsdb.path={}", d.join("prom-data").display()),
        format!("--web.listen-address={addr}"),
    ];
    procs.spawn("prometheus", &bin, &args);
    let url = format!("http://{addr}");
    let u = url.clone();
    wait_for(
        "Prometheus to scrape demo_memory_ratio",
        Duration::from_secs(60),
        procs,
        || {
            let u = u.clone();
            async move { prom_value(&u, "demo_memory_ratio").await }
        },
    )
    .await;
    url
}
