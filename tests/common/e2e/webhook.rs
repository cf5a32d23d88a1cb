//! The Alertmanager webhook receiver: a std TcpListener thread inside the test that records
//! every POST (when, path, JSON body). The thread ends with the test process; it owns no child.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One POST the receiver got: when, on which path, and Alertmanager's webhook JSON.
#[derive(Clone, Debug)]
pub struct Notification {
    pub at: Instant,
    pub path: String,
    pub body: Value,
}

impl Notification {
    /// `(status, labels, annotations)` of each alert named `alertname` in this notification.
    pub fn alerts(&self, alertname: &str) -> Vec<(String, Value, Value)> {
        self.body["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["labels"]["alertname"] == alertname)
            .map(|a| {
                (
                    a["status"].as_str().unwrap_or("").to_owned(),
                    a["labels"].clone(),
                    a["annotations"].clone(),
                )
            })
            .collect()
    }

    /// The `SoakdIncident` alerts of this notification, as [`Notification::alerts`].
    pub fn incidents(&self) -> Vec<(String, Value, Value)> {
        self.alerts("SoakdIncident")
    }
}

type Log = Arc<Mutex<Vec<Notification>>>;

pub struct Webhook {
    pub addr: String,
    log: Log,
}

impl Webhook {
    /// Listens on a free 127.0.0.1 port; `tag` prefixes its log lines.
    pub fn start(tag: &'static str) -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind webhook");
        let addr = listener.local_addr().unwrap().to_string();
        let log: Log = Arc::default();
        let l2 = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let _ = serve(stream, &l2, tag);
            }
        });
        Webhook { addr, log }
    }

    pub fn notifications(&self) -> Vec<Notification> {
        self.log.lock().unwrap().clone()
    }

    /// `(when, labels, annotations)` of every alert `alertname` with `status` (`firing`,
    /// `resolved`) received so far, one entry per notification that carried it.
    pub fn alerts(&self, alertname: &str, status: &str) -> Vec<(Instant, Value, Value)> {
        self.notifications()
            .into_iter()
            .flat_map(|n| {
                n.alerts(alertname)
                    .into_iter()
                    .filter(|(s, _, _)| s == status)
                    .map(move |(_, l, a)| (n.at, l, a))
            })
            .collect()
    }
}

fn serve(stream: TcpStream, log: &Log, tag: &str) -> std::io::Result<()> {
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
    eprintln!("{tag}: webhook got {request_line:?}: {body}");
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_owned();
    log.lock().unwrap().push(Notification { at, path, body });
    let mut w = stream;
    w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
    w.flush()
}
