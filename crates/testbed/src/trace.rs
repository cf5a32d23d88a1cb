//! Request correlation as a real service offers it: every response carries an `X-Request-Id`,
//! and the W3C `traceparent` trace ids the target received are kept (the last
//! [`MAX_TRACE_IDS`], so memory stays bounded on a soak) for tests to match against soakd's
//! exemplars and run summaries (`GET /_stats`: `traces_seen`, `recent_trace_ids`).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use hyper::http::{HeaderMap, HeaderValue};

/// Trace ids kept for `/_stats`.
pub const MAX_TRACE_IDS: usize = 2000;

#[derive(Debug, Default)]
pub(crate) struct Traces {
    next_request_id: AtomicU64,
    seen: AtomicU64,
    recent: Mutex<VecDeque<String>>,
}

/// The trace id of a valid `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`).
fn trace_id(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.trim().split('-');
    let (version, id, span, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(version, 2) && hex(id, 32) && hex(span, 16) && hex(flags, 2)).then_some(id)
}

impl Traces {
    /// Notes the request's trace id, if it sent a valid `traceparent`.
    pub(crate) fn record(&self, headers: &HeaderMap) {
        let Some(id) = headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .and_then(trace_id)
        else {
            return;
        };
        self.seen.fetch_add(1, Relaxed);
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == MAX_TRACE_IDS {
            recent.pop_front();
        }
        recent.push_back(id.to_owned());
    }

    /// A fresh `X-Request-Id` value: `tb-` and a per-target sequence number.
    pub(crate) fn request_id(&self) -> HeaderValue {
        let n = self.next_request_id.fetch_add(1, Relaxed) + 1;
        HeaderValue::from_str(&format!("tb-{n:08}")).expect("ascii")
    }

    pub(crate) fn fill(&self, s: &mut super::TargetStats) {
        s.traces_seen = self.seen.load(Relaxed);
        s.recent_trace_ids = self
            .recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_traceparents_count() {
        let t = Traces::default();
        let mut h = HeaderMap::new();
        h.insert(
            "traceparent",
            HeaderValue::from_static("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        );
        t.record(&h);
        h.insert("traceparent", HeaderValue::from_static("00-xyz-1-01"));
        t.record(&h);
        let mut s = super::super::TargetStats::default();
        t.fill(&mut s);
        assert_eq!(s.traces_seen, 1);
        assert_eq!(s.recent_trace_ids, ["0af7651916cd43dd8448eb211c80319c"]);
        assert_eq!(t.request_id(), "tb-00000001");
    }
}
