//! WebSocket samples: connect time, message round trips, sessions dropped, messages counted.

use super::{Recorder, new_hist};
use hdrhistogram::Histogram;
use std::time::Duration;

/// One thing that happened in a WebSocket session.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WsEvent {
    /// The handshake finished (ok) or failed, after `Duration`.
    Connect(Duration, bool),
    Sent,
    /// A message arrived; `Some(rtt)` when it answered one we sent.
    Received(Option<Duration>),
    /// A sent message got no reply within the reply timeout.
    Lost,
    Reconnect,
    /// The session ended; `dropped` when the connection closed or failed before its end.
    SessionEnd {
        dropped: bool,
    },
}

#[derive(Clone)]
pub struct WsCell {
    pub connecting: Histogram<u64>,
    pub msg_latency: Histogram<u64>,
    pub sessions: u64,
    pub dropped: u64,
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    pub reconnects: u64,
    pub connect_failures: u64,
}

impl Default for WsCell {
    fn default() -> Self {
        WsCell {
            connecting: new_hist(),
            msg_latency: new_hist(),
            sessions: 0,
            dropped: 0,
            sent: 0,
            received: 0,
            lost: 0,
            reconnects: 0,
            connect_failures: 0,
        }
    }
}

impl WsCell {
    fn record(&mut self, e: WsEvent) {
        let us = |d: Duration| (d.as_micros() as u64).max(1);
        match e {
            WsEvent::Connect(d, true) => {
                let _ = self.connecting.record(us(d));
            }
            WsEvent::Connect(_, false) => self.connect_failures += 1,
            WsEvent::Sent => self.sent += 1,
            WsEvent::Received(rtt) => {
                self.received += 1;
                if let Some(d) = rtt {
                    let _ = self.msg_latency.record(us(d));
                }
            }
            WsEvent::Lost => self.lost += 1,
            WsEvent::Reconnect => self.reconnects += 1,
            WsEvent::SessionEnd { dropped } => {
                self.sessions += 1;
                self.dropped += dropped as u64;
            }
        }
    }
}

impl super::Shard {
    /// The WebSocket numbers, empty when the run had no WebSocket event.
    pub(crate) fn ws_or_empty(&self) -> &WsCell {
        static EMPTY: std::sync::LazyLock<WsCell> = std::sync::LazyLock::new(WsCell::default);
        self.ws.as_deref().unwrap_or(&EMPTY)
    }
}

impl Recorder {
    /// Records one WebSocket event of session `request` (an index of `Scenario::requests`).
    /// Rare next to requests, so applied at once (after the queued samples).
    pub fn ws(&self, _vu: u32, request: usize, event: WsEvent) {
        if let Some(shard) = self.drain().shard.as_mut() {
            shard.ws.get_or_insert_with(Default::default).record(event);
        }
        if let Some(s) = &self.sink {
            s.ws(request, event);
        }
    }
}
