//! Validated WebSocket sessions (a step kind beside requests and think time).

use super::errors::Errors;
use super::request::JsonT;
use super::template::{Templates, Tmpl};
use crate::config::RawWebSocket;
use hyper::http::HeaderName;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct WsStep {
    /// Index into `Scenario::requests` (the session is named like a request).
    pub index: usize,
    /// Absolute `ws://` / `wss://` URL.
    pub url: Tmpl,
    pub headers: Vec<(HeaderName, Tmpl)>,
    pub subprotocol: Option<String>,
    pub duration: Duration,
    pub send_every: Option<Duration>,
    /// The message object; `id_field` is set to a fresh id on each send.
    pub message: Option<JsonT>,
    pub id_field: String,
    pub reply_timeout: Duration,
    pub reconnect: bool,
}

/// Compiles a session; `base_url` (http/https) is turned into ws/wss for relative URLs.
pub fn compile_ws(
    raw: &RawWebSocket,
    index: usize,
    base_url: Option<&str>,
    path: &str,
    t: &mut Templates,
    e: &mut Errors,
) -> WsStep {
    let foreign_scheme =
        !(raw.url.starts_with("ws://") || raw.url.starts_with("wss://")) && raw.url.contains("://");
    let url = if raw.url.starts_with("ws://") || raw.url.starts_with("wss://") {
        raw.url.clone()
    } else if foreign_scheme {
        // An absolute URL of another scheme must not be glued onto base_url as a path.
        e.push(
            format!("{path}.url"),
            format!(
                "{:?} is not a ws:// or wss:// URL (expected ws://host/..., wss://host/... or a path starting with /)",
                raw.url
            ),
        );
        raw.url.clone()
    } else if let Some(base) = base_url {
        let base = base.replacen("http", "ws", 1);
        format!(
            "{}/{}",
            base.trim_end_matches('/'),
            raw.url.trim_start_matches('/')
        )
    } else {
        e.push(
            format!("{path}.url"),
            format!(
                "{:?} is relative but the scenario has no target.base_url",
                raw.url
            ),
        );
        raw.url.clone()
    };
    let url = match t.add(&format!("{path}.url"), &url) {
        Ok(Tmpl::Static(s)) => {
            if !foreign_scheme
                && !url::Url::parse(&s)
                    .is_ok_and(|u| matches!(u.scheme(), "ws" | "wss") && u.host_str().is_some())
            {
                e.push(
                    format!("{path}.url"),
                    format!("{s:?} is not a valid ws(s) URL"),
                );
            }
            Tmpl::Static(s)
        }
        Ok(tp) => tp,
        Err(msg) => {
            e.push(format!("{path}.url"), msg);
            Tmpl::Static(url)
        }
    };
    let mut headers = Vec::new();
    for (k, v) in &raw.headers {
        let hp = format!("{path}.headers.{k}");
        match (
            HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()),
            t.add(&hp, v),
        ) {
            (Ok(name), Ok(tmpl)) => headers.push((name, tmpl)),
            (Err(_), _) => e.push(hp, format!("{k:?} is not a header name")),
            (_, Err(msg)) => e.push(hp, msg),
        }
    }
    let duration = e
        .duration(&format!("{path}.duration"), &raw.duration)
        .unwrap_or(Duration::from_secs(1));
    let send_every = raw
        .send_every
        .as_ref()
        .and_then(|s| e.duration(&format!("{path}.send_every"), s));
    if send_every.is_some_and(|d| d.is_zero()) {
        e.push(format!("{path}.send_every"), "must be longer than 0");
    }
    let message = match &raw.message {
        None => None,
        Some(v @ serde_json::Value::Object(_)) => Some(super::body::json_template(
            v,
            &format!("{path}.message"),
            t,
            e,
        )),
        Some(_) => {
            e.push(
                format!("{path}.message"),
                "must be a JSON object (soakd adds the id field)",
            );
            None
        }
    };
    if send_every.is_some() != message.is_some() {
        e.push(path, "send_every and message go together");
    }
    WsStep {
        index,
        url,
        headers,
        subprotocol: raw.subprotocol.clone(),
        duration,
        send_every,
        message,
        id_field: raw.id_field.clone().unwrap_or_else(|| "id".into()),
        reply_timeout: e.duration_or(
            &format!("{path}.reply_timeout"),
            &raw.reply_timeout,
            Duration::from_secs(5),
        ),
        reconnect: raw.reconnect.unwrap_or(true),
    }
}
