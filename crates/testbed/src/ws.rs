//! `GET /ws/chat`: a WebSocket chat room where every text message goes to every client.
//!
//! The upgrade is done with hyper directly (`hyper::upgrade::on`), then the raw connection is
//! wrapped by tokio-tungstenite. Messages fan out through one tokio broadcast channel; a client
//! too slow to keep up skips what it missed. With `ws_drop_rate`, that share of connections is
//! closed abruptly (no close frame) after a random 200–800 ms.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::http::{HeaderValue, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::sync::broadcast;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;

use super::body::TargetBody;
use super::routes::{Resp, Shared, TargetStats, bad_request};

/// Messages a client may fall behind before it skips some.
const ROOM_BACKLOG: usize = 4096;

/// The chat room of one target.
#[derive(Debug)]
pub(crate) struct Chat {
    room: broadcast::Sender<Utf8Bytes>,
    connections: AtomicU64,
    dropped: AtomicU64,
    messages: AtomicU64,
    /// Cancelled when the target stops: upgraded connections outlive their HTTP task.
    pub(crate) shutdown: CancellationToken,
}

impl Default for Chat {
    fn default() -> Self {
        Chat {
            room: broadcast::channel(ROOM_BACKLOG).0,
            connections: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            messages: AtomicU64::new(0),
            shutdown: CancellationToken::new(),
        }
    }
}

impl Chat {
    pub(crate) fn fill(&self, s: &mut TargetStats) {
        s.ws_connections = self.connections.load(Relaxed);
        s.ws_dropped = self.dropped.load(Relaxed);
        s.ws_messages = self.messages.load(Relaxed);
    }
}

/// Answers the upgrade request with 101 and serves the connection in its own task.
pub(crate) fn upgrade(shared: &Arc<Shared>, mut req: Request<Incoming>) -> Resp {
    let h = req.headers();
    let wants_ws = h
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let Some(key) = h.get(header::SEC_WEBSOCKET_KEY).filter(|_| wants_ws) else {
        return bad_request("expected a WebSocket upgrade");
    };
    let accept = derive_accept_key(key.as_bytes());
    // Echo the first subprotocol the client offers.
    let protocol = h
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').map(str::trim).find(|p| !p.is_empty()))
        .and_then(|p| HeaderValue::from_str(p).ok());
    let drop_after = shared
        .faults
        .get()
        .roll_ws_drop()
        .then(|| Duration::from_millis(rand::random_range(200..=800)));
    let on_upgrade = hyper::upgrade::on(&mut req);
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        shared.chat.connections.fetch_add(1, Relaxed);
        serve(&shared.chat, ws, drop_after).await;
    });
    let mut resp = Resp::new(TargetBody::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let hs = resp.headers_mut();
    hs.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    hs.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        hs.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    if let Some(p) = protocol {
        hs.insert(header::SEC_WEBSOCKET_PROTOCOL, p);
    }
    resp
}

async fn serve<S>(chat: &Chat, ws: WebSocketStream<S>, drop_after: Option<Duration>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut out, mut inc) = ws.split();
    let mut room = chat.room.subscribe();
    let drop_at = drop_after.map(|d| tokio::time::Instant::now() + d);
    loop {
        tokio::select! {
            _ = chat.shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(drop_at.unwrap_or_else(tokio::time::Instant::now)), if drop_at.is_some() => {
                // Dropping both halves closes the socket without a close frame.
                chat.dropped.fetch_add(1, Relaxed);
                return;
            }
            msg = inc.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    chat.messages.fetch_add(1, Relaxed);
                    let _ = chat.room.send(text);
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            got = room.recv() => match got {
                Ok(text) => {
                    if out.send(Message::Text(text)).await.is_err() {
                        break;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    let _ = out.close().await;
}
