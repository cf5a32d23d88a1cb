//! A tiny blocking HTTP/1.0 client for loopback: enough to talk to soakd, Prometheus and
//! Alertmanager without pulling an HTTP client into the tests.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One HTTP/1.0 request (the server closes the connection, so no keep-alive or framing games);
/// returns status and body. Chunked answers are decoded anyway.
pub fn http(
    method: &str,
    addr: &str,
    path: &str,
    body: Option<&str>,
) -> Result<(u16, String), String> {
    http_auth(method, addr, path, body, None)
}

/// [`http`] with `Authorization: Bearer <token>` when `token` is given (soakd's write API).
pub fn http_auth(
    method: &str,
    addr: &str,
    path: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> Result<(u16, String), String> {
    let sa: SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let mut s = TcpStream::connect_timeout(&sa, Duration::from_secs(2))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    s.set_write_timeout(Some(Duration::from_secs(5))).ok();
    let body = body.unwrap_or("");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\n{auth}\
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

/// Sets the calibration target's fault mode (`POST /_control`, DESIGN §8), e.g.
/// `{"latency_ms": 300}`.
pub fn target_control(target: &str, body: &str) -> Result<(), String> {
    match http("POST", target, "/_control", Some(body)) {
        Ok((200, _)) => Ok(()),
        other => Err(format!("POST /_control: {other:?}")),
    }
}

pub fn dechunk(mut s: &str) -> String {
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

pub fn get_json(addr: &str, path: &str) -> Result<Value, String> {
    let (st, body) = http("GET", addr, path, None)?;
    if st != 200 {
        return Err(format!("GET {addr}{path}: {st} {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("GET {addr}{path}: {e}: {body}"))
}

pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}
