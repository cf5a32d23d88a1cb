//! WebSocket sessions: connect, send JSON messages at a pace, match replies by id.
//!
//! Each sent message gets a fresh id in `id_field`; a received message carrying a pending id
//! closes that round trip (`ws_msg_latency`). A connection that closes or fails before the
//! session's end marks the session dropped (`ws_sessions_dropped`); with `reconnect` the session
//! reconnects and goes on until its end. Messages without a reply within `reply_timeout` count as
//! lost.

use crate::plan::{Templates, ws::WsStep};
use crate::record::{Recorder, WsEvent};
use futures_util::{SinkExt, StreamExt};
use minijinja::Value;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a session may connect: `safety.allowed_hosts`, and whether the scenario has logged a
/// refusal already (once per run).
pub struct Allowed<'a> {
    pub hosts: &'a [String],
    pub warned: &'a std::sync::atomic::AtomicBool,
    pub scenario: &'a str,
}

/// Runs one session of `step` for VU `vu`; true when it was never dropped.
pub async fn session(
    step: &WsStep,
    t: &Templates,
    ctx: &Value,
    rec: &Recorder,
    vu: u32,
    allowed: &Allowed<'_>,
) -> bool {
    let ev = |e: WsEvent| rec.ws(vu, step.index, e);
    let deadline = Instant::now() + step.duration;
    let mut pending: HashMap<String, Instant> = HashMap::new();
    let mut dropped = false;
    let mut first = true;
    'session: while Instant::now() < deadline {
        if !first {
            ev(WsEvent::Reconnect);
        }
        first = false;
        // The rendered URL is checked by the same rule as HTTP requests: a refused session
        // opens no connection at all.
        if let Ok(url) = t.render(&step.url, ctx)
            && !crate::plan::allow::rendered_allowed(&url, allowed.hosts)
        {
            if !allowed
                .warned
                .swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                tracing::warn!(
                    scenario = allowed.scenario,
                    step = step.index,
                    "WebSocket host not in safety.allowed_hosts; session not opened"
                );
            }
            ev(WsEvent::Connect(Duration::ZERO, false));
            dropped = true;
            break;
        }
        let Some(request) = handshake_request(step, t, ctx) else {
            ev(WsEvent::Connect(Duration::ZERO, false));
            dropped = true;
            break;
        };
        let t0 = Instant::now();
        let budget = deadline.saturating_duration_since(t0).min(CONNECT_TIMEOUT);
        let stream =
            match tokio::time::timeout(budget, tokio_tungstenite::connect_async(request)).await {
                Ok(Ok((stream, _))) => {
                    ev(WsEvent::Connect(t0.elapsed(), true));
                    stream
                }
                _ => {
                    ev(WsEvent::Connect(t0.elapsed(), false));
                    dropped = true;
                    if step.reconnect {
                        tokio::time::sleep(
                            Duration::from_millis(200)
                                .min(deadline.saturating_duration_since(Instant::now())),
                        )
                        .await;
                        continue;
                    }
                    break;
                }
            };
        let (mut write, mut read) = stream.split();
        let mut next_send = Instant::now();
        let mut sweep = tokio::time::interval(Duration::from_millis(100));
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {
                    let _ = write.send(Message::Close(None)).await;
                    break 'session;
                }
                _ = tokio::time::sleep_until(next_send), if step.send_every.is_some() && next_send < deadline => {
                    let id = uuid::Uuid::new_v4().simple().to_string();
                    if let Some(text) = message(step, t, ctx, &id) {
                        if write.send(Message::text(text)).await.is_err() {
                            dropped = true;
                            if step.reconnect { continue 'session } else { break 'session }
                        }
                        ev(WsEvent::Sent);
                        pending.insert(id, Instant::now());
                    }
                    next_send += step.send_every.unwrap_or(Duration::MAX / 4);
                }
                _ = sweep.tick() => expire(&mut pending, step.reply_timeout, &ev),
                msg = read.next() => match msg {
                    Some(Ok(Message::Text(text))) => ev(WsEvent::Received(round_trip(&text, &step.id_field, &mut pending))),
                    Some(Ok(Message::Binary(_))) => ev(WsEvent::Received(None)),
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                        dropped = true;
                        if step.reconnect { continue 'session } else { break 'session }
                    }
                    Some(Ok(_)) => {}
                }
            }
        }
    }
    // Replies still missing when the connection dropped are lost. At the session's normal end
    // a message still within its reply timeout had no chance to be answered: not counted.
    for (_, sent) in pending.drain() {
        if dropped || sent.elapsed() >= step.reply_timeout {
            ev(WsEvent::Lost);
        }
    }
    ev(WsEvent::SessionEnd { dropped });
    !dropped
}

fn handshake_request(
    step: &WsStep,
    t: &Templates,
    ctx: &Value,
) -> Option<tokio_tungstenite::tungstenite::handshake::client::Request> {
    let url = t.render(&step.url, ctx).ok()?;
    let mut req = url.into_client_request().ok()?;
    for (name, tmpl) in &step.headers {
        let v = t.render(tmpl, ctx).ok()?;
        req.headers_mut()
            .insert(name.clone(), HeaderValue::from_str(&v).ok()?);
    }
    if let Some(p) = &step.subprotocol {
        req.headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_str(p).ok()?);
    }
    Some(req)
}

/// The message with a fresh id; None if a template fails.
fn message(step: &WsStep, t: &Templates, ctx: &Value, id: &str) -> Option<String> {
    let body = step.message.as_ref()?;
    let mut v = super::prepare::render_json(body, t, ctx).ok()?;
    if let serde_json::Value::Object(m) = &mut v {
        m.insert(
            step.id_field.clone(),
            serde_json::Value::String(id.to_string()),
        );
    }
    Some(v.to_string())
}

/// The round trip of the message this one answers, if it carries a pending id.
fn round_trip(
    text: &str,
    id_field: &str,
    pending: &mut HashMap<String, Instant>,
) -> Option<Duration> {
    if pending.is_empty() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let id = v.get(id_field)?.as_str()?;
    pending.remove(id).map(|sent| sent.elapsed())
}

fn expire(pending: &mut HashMap<String, Instant>, timeout: Duration, ev: &impl Fn(WsEvent)) {
    let before = pending.len();
    pending.retain(|_, sent| sent.elapsed() < timeout);
    for _ in pending.len()..before {
        ev(WsEvent::Lost);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_matched_by_id_once() {
        let mut pending = HashMap::from([("a1".to_string(), Instant::now())]);
        assert!(round_trip(r#"{"id":"a1","text":"hi"}"#, "id", &mut pending).is_some());
        assert!(
            round_trip(r#"{"id":"a1"}"#, "id", &mut pending).is_none(),
            "second echo is not a round trip"
        );
        assert!(pending.is_empty());
    }
}
