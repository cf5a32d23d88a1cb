//! The W3C trace id a request carries in its `traceparent` header.
//!
//! Defined here, on the left of its users, because the client sends it, the recorder keeps it
//! with the sample and telemetry attaches it as the exemplar of the latency bucket.

/// A W3C trace id (16 bytes), kept as an exemplar label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceId(pub [u8; 16]);

impl TraceId {
    /// 32 lowercase hex digits, as in `traceparent` and Tempo/Jaeger links.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}
