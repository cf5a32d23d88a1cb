//! A response's headers, looked up by name when a check, an extractor or the summary asks.
//!
//! Most responses of a load test are never asked for a header, so the VU's own HTTP/1.1
//! connection keeps the raw header lines it read (a slice of the read buffer, no copy) and
//! looks a name up only on demand; responses through hyper keep hyper's `HeaderMap`. Building
//! a map for every response was about a fifth of the client's user-space cost per request.

use bytes::Bytes;
use hyper::http::HeaderMap;

/// A response's header fields.
#[derive(Clone, Debug, Default)]
pub struct Headers(Repr);

#[derive(Clone, Debug)]
enum Repr {
    Map(HeaderMap),
    /// Header lines as received, already validated by the parser (`name: value`, CRLF or LF).
    Raw(Bytes),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Raw(Bytes::new())
    }
}

impl Headers {
    /// Header lines exactly as the parser accepted them.
    pub(super) fn raw(lines: Bytes) -> Self {
        Headers(Repr::Raw(lines))
    }

    /// The first value of `name` (any case), as `HeaderValue::to_str` gives it: None when the
    /// header is absent or its value is not visible ASCII.
    pub fn get(&self, name: impl AsRef<str>) -> Option<&str> {
        let name = name.as_ref();
        match &self.0 {
            Repr::Map(map) => map.get(name).and_then(|v| v.to_str().ok()),
            Repr::Raw(lines) => {
                let value = raw_lines(lines).find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()));
                let (_, value) = value?;
                let visible = value.iter().all(|b| *b == b'\t' || (32..127).contains(b));
                visible.then(|| std::str::from_utf8(value).ok()).flatten()
            }
        }
    }

    /// Every field as (name, value) in received order (names as received).
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match &self.0 {
            Repr::Map(map) => Box::new(
                map.iter()
                    .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes())),
            ),
            Repr::Raw(lines) => Box::new(raw_lines(lines)),
        }
    }
}

impl From<HeaderMap> for Headers {
    fn from(map: HeaderMap) -> Self {
        Headers(Repr::Map(map))
    }
}

/// (name, value) of each line, the value without surrounding whitespace.
fn raw_lines(lines: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    lines.split(|b| *b == b'\n').filter_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let colon = line.iter().position(|b| *b == b':')?;
        let value = line[colon + 1..].trim_ascii();
        Some((&line[..colon], value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::http::HeaderValue;

    #[test]
    fn raw_and_parsed_headers_answer_alike() {
        let raw = Headers::raw(Bytes::from_static(
            b"Content-Type: application/json\r\nX-Request-Id:  abc \r\nx-request-id: second\nX-Bin: caf\xc3\xa9\r\nEmpty:\r\n",
        ));
        let mut map = HeaderMap::new();
        map.append("content-type", HeaderValue::from_static("application/json"));
        map.append("x-request-id", HeaderValue::from_static("abc"));
        map.append("x-request-id", HeaderValue::from_static("second"));
        map.append("x-bin", HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap());
        map.append("empty", HeaderValue::from_static(""));
        let map = Headers::from(map);
        for h in [&raw, &map] {
            assert_eq!(h.get("content-type"), Some("application/json"));
            assert_eq!(
                h.get("X-REQUEST-ID"),
                Some("abc"),
                "the first value, trimmed"
            );
            assert_eq!(
                h.get("x-bin"),
                None,
                "not visible ASCII, as HeaderValue::to_str"
            );
            assert_eq!(h.get("empty"), Some(""));
            assert_eq!(h.get("missing"), None);
            assert_eq!(h.iter().count(), 5);
        }
    }
}
