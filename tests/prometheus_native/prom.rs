//! A real Prometheus 2.42 (Debian package `prometheus`, installed by
//! scripts/install-test-tools.sh when missing) with `--enable-feature=native-histograms,
//! exemplar-storage`, scraping soakd every second in two jobs: `soakd` negotiates as Prometheus
//! does (protobuf: native histograms), `soakd_classic` asks `?format=openmetrics` (2.42 ingests
//! no classic buckets of a histogram that has native ones). Killed by its own PID on drop.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use super::support::Proc;
use serde_json::Value;

pub struct Prometheus {
    /// The shared child guard: SIGKILL to this PID on drop.
    proc: Proc,
    pub addr: SocketAddr,
}

/// One HTTP/1.0 GET (no chunking; the server closes): (status, head, body).
pub fn get_raw(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, String, Vec<u8>)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, head, raw[end + 4..].to_vec()))
}

fn enc(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

impl Prometheus {
    pub fn start(dir: &Path, soakd: SocketAddr) -> Prometheus {
        let bin = super::tools::tool("prometheus");
        let cfg = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n\
             \x20 - job_name: soakd\n    static_configs:\n      - targets: [\"{soakd}\"]\n\
             \x20 - job_name: soakd_classic\n    params: {{ format: [openmetrics] }}\n\
             \x20   static_configs:\n      - targets: [\"{soakd}\"]\n"
        );
        let cfg_path = dir.join("prometheus.yml");
        std::fs::write(&cfg_path, cfg).expect("write prometheus.yml");
        let addr = super::support::free_addr();
        let args = [
            format!("--config.file={}", cfg_path.display()),
            format!("--storage.tsdb.path={}", dir.join("prom-data").display()),
            format!("--web.listen-address={addr}"),
            "--enable-feature=native-histograms,exemplar-storage".to_string(),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let proc = Proc::program("prometheus", &bin, &args, dir, &[]);
        let p = Prometheus { proc, addr };
        super::support::wait_for(Duration::from_secs(30), "prometheus /-/ready", || {
            get_raw(p.addr, "/-/ready", &[]).ok().filter(|r| r.0 == 200)
        });
        p
    }

    pub fn log_tail(&self) -> String {
        let text = self.proc.stdout_text() + &self.proc.stderr_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn get_json(&self, path: &str) -> Result<Value, String> {
        let (status, _, body) = get_raw(self.addr, path, &[]).map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_slice(&body).map_err(|e| format!("{e}"))?;
        if status != 200 || v["status"] != "success" {
            return Err(format!("{path}: {status} {v}"));
        }
        Ok(v)
    }

    /// An instant query's result vector.
    pub fn query(&self, q: &str) -> Result<Vec<Value>, String> {
        let v = self.get_json(&format!("/api/v1/query?query={}", enc(q)))?;
        Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
    }

    /// The single float value of an instant query, if it has one.
    pub fn scalar(&self, q: &str) -> Option<f64> {
        let r = self.query(q).ok()?;
        r.first()?["value"][1].as_str()?.parse().ok()
    }

    /// Every exemplar's `trace_id` of the series `selector` selects, over the last 10 minutes.
    pub fn exemplar_trace_ids(&self, selector: &str) -> Vec<String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs_f64();
        let path = format!(
            "/api/v1/query_exemplars?query={}&start={:.0}&end={:.0}",
            enc(selector),
            now - 600.0,
            now + 60.0
        );
        let Ok(v) = self.get_json(&path) else {
            return Vec::new();
        };
        v["data"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["exemplars"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e["labels"]["trace_id"].as_str().map(str::to_owned))
            .collect()
    }
}
