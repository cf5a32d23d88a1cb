//! The W3C trace context a request carries: its trace id and its `traceparent` header.
//!
//! Defined here, on the left of its users, because the client sends it, the recorder keeps it
//! with the sample and telemetry attaches it as the exemplar of the latency bucket.

use hyper::http::{HeaderName, HeaderValue};

/// A W3C trace id (16 bytes), kept as an exemplar label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceId(pub [u8; 16]);

impl TraceId {
    /// 32 lowercase hex digits, as in `traceparent` and Tempo/Jaeger links.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// The header name, for the requests that go through hyper.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// `traceparent: 00-<trace id>-<span id>-01` (W3C trace context, sampled flag set).
///
/// On every request by default, so it is formatted into a fixed array and written straight
/// into the request head by the VU's own connection: no header map, no allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceParent([u8; 55]);

impl TraceParent {
    pub fn new(id: TraceId, span: [u8; 8]) -> Self {
        let mut buf = *b"00-00000000000000000000000000000000-0000000000000000-01";
        lower_hex(&id.0, &mut buf[3..35]);
        lower_hex(&span, &mut buf[36..52]);
        TraceParent(buf)
    }

    /// The header value's bytes (ASCII).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The value as a header value (one allocation), for requests that go through hyper.
    /// Always Some: hex digits and dashes are a valid header value.
    pub fn header_value(&self) -> Option<HeaderValue> {
        HeaderValue::from_bytes(&self.0).ok()
    }
}

/// Writes `bytes` as lowercase hex into `out` (twice as long): one table lookup per byte.
fn lower_hex(bytes: &[u8], out: &mut [u8]) {
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&HEX_PAIRS[*b as usize]);
    }
}

/// The two lowercase hex digits of every byte value.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut table = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = [DIGITS[i >> 4], DIGITS[i & 0xf]];
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_hex_writes_what_the_hex_crate_writes() {
        let bytes: Vec<u8> = (0..=255).collect();
        let mut out = [0u8; 512];
        lower_hex(&bytes, &mut out);
        assert_eq!(std::str::from_utf8(&out).unwrap(), hex::encode(bytes));
    }

    #[test]
    fn the_traceparent_header_is_version_00_trace_span_and_the_sampled_flag() {
        let tp = TraceParent::new(TraceId([0xab; 16]), [0x01; 8]);
        let v = tp.header_value().unwrap();
        assert_eq!(
            v.to_str().unwrap(),
            format!("00-{}-0101010101010101-01", "ab".repeat(16))
        );
        assert_eq!(tp.as_bytes(), v.as_bytes());
    }
}
