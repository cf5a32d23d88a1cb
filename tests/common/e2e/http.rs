//! The end-to-end tests' view of the shared HTTP client (`tests/common/wire.rs`): addresses as
//! text, errors as messages, JSON answers, and the target's fault switch.

#[allow(unused_imports)] // dechunk: for the tests' own checks of the client
pub use crate::common::wire::{dechunk, request};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One request (see [`request`]); returns status and body.
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
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let r = request(sa, method, path, &headers, body, Duration::from_secs(5))
        .map_err(|e| format!("{method} {addr}{path}: {e}"))?;
    Ok((r.status, r.body))
}

/// Sets the calibration target's fault mode (`POST /_control`, DESIGN §8), e.g.
/// `{"latency_ms": 300}`.
pub fn target_control(target: &str, body: &str) -> Result<(), String> {
    match http("POST", target, "/_control", Some(body)) {
        Ok((200, _)) => Ok(()),
        other => Err(format!("POST /_control: {other:?}")),
    }
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
