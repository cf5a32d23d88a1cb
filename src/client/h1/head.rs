//! HTTP/1.1 message heads: the request line and headers we write, the status line and headers
//! we read, and how the response body is framed (RFC 9112 §6.3).
//!
//! Pure functions over byte buffers, so every framing rule is tested without a socket.

use crate::client::{FailureReason, Headers};
use bytes::BytesMut;
use hyper::http::{self, HeaderMap, HeaderValue, Method, header};
use std::mem::MaybeUninit;

/// Headers a response may carry before it is refused (hyper's default).
pub(super) const MAX_HEADERS: usize = 100;

/// Bytes a response head may take before it is refused (hyper's default buffer limit).
pub(super) const MAX_HEAD_BYTES: usize = 8192 + 4096 * 100;

/// Whether this client writes `req` itself; otherwise it goes through hyper's pool.
///
/// A body this client would have to frame (`transfer-encoding`), a `100-continue` handshake,
/// an upgrade or a tunnel are left to hyper: they are rare in load plans and need its machinery.
pub(in crate::client) fn writes_itself(req: &http::Request<impl Sized>) -> bool {
    // One pass over the (few) names: cheaper than a hashed lookup per name.
    *req.method() != Method::CONNECT
        && req
            .headers()
            .keys()
            .all(|k| k != header::TRANSFER_ENCODING && k != header::EXPECT && k != header::UPGRADE)
}

/// Writes the request head and body into `out` (cleared first): origin-form target, the Host
/// header unless the request has one, and `content-length` as hyper would send it.
pub(super) fn encode_request(
    out: &mut Vec<u8>,
    method: &Method,
    target: &str,
    headers: &HeaderMap,
    host: &HeaderValue,
    traceparent: Option<&[u8]>,
    body: &[u8],
) {
    out.clear();
    out.reserve(64 + target.len() + body.len() + headers.len() * 32);
    // Ours replaces one the request set itself (as an insert into its headers would).
    encode_lines(out, method, target, headers, host, traceparent.is_some());
    if let Some(v) = traceparent {
        line(out, b"traceparent", v);
    }
    encode_tail(out, method, headers, body);
}

/// The request line, Host and the request's headers (without its `traceparent` when
/// `skip_traceparent`): everything before the line a sampled trace adds.
pub(super) fn encode_lines(
    out: &mut Vec<u8>,
    method: &Method,
    target: &str,
    headers: &HeaderMap,
    host: &HeaderValue,
    skip_traceparent: bool,
) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(if target.is_empty() { "/" } else { target }.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    if !headers.keys().any(|k| k == header::HOST) {
        line(out, b"host", host.as_bytes());
    }
    for (name, value) in headers {
        if skip_traceparent && name == crate::client::TRACEPARENT {
            continue;
        }
        line(out, name.as_str().as_bytes(), value.as_bytes());
    }
}

/// `content-length` when the request has none and needs one, the blank line, the body.
pub(super) fn encode_tail(out: &mut Vec<u8>, method: &Method, headers: &HeaderMap, body: &[u8]) {
    let has_length = headers.keys().any(|k| k == header::CONTENT_LENGTH);
    let body_expected = matches!(*method, Method::POST | Method::PUT | Method::PATCH);
    if !has_length && (!body.is_empty() || body_expected) {
        let mut n = [0u8; 20];
        line(out, b"content-length", fmt_usize(body.len(), &mut n));
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

pub(super) fn line(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

fn fmt_usize(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// How the body after a response head ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body (HEAD, 1xx, 204, 304).
    Empty,
    Length(u64),
    Chunked,
    /// Until the server closes the connection.
    UntilClose,
}

/// A parsed response head.
#[derive(Debug)]
pub(super) struct Head {
    pub status: u16,
    pub headers: Headers,
    pub framing: Framing,
    /// Whether the connection may carry another request after this response.
    pub keep_alive: bool,
}

/// Parses the response head at the start of `buf` and takes it out: `Ok(None)` (and `buf`
/// untouched) until it is complete. The headers keep the head's bytes (no copy, no map).
///
/// `head_request` says the request was HEAD (no body whatever the headers say).
pub(super) fn parse_response(
    buf: &mut BytesMut,
    head_request: bool,
) -> Result<Option<Head>, FailureReason> {
    let mut slots = [const { MaybeUninit::<httparse::Header>::uninit() }; MAX_HEADERS];
    let (len, status, lines, length, chunked, close) = {
        let mut resp = httparse::Response::new(&mut []);
        let parsed = httparse::ParserConfig::default()
            .parse_response_with_uninit_headers(&mut resp, buf, &mut slots);
        let len = match parsed {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_BYTES => {
                return Err(FailureReason::Protocol);
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(FailureReason::Protocol),
        };
        let status = resp.code.ok_or(FailureReason::Protocol)?;
        let http11 = resp.version == Some(1);
        let mut length: Option<u64> = None;
        let mut chunked = None;
        let mut close = !http11;
        for h in resp.headers.iter() {
            let name = h.name.as_bytes();
            if name.eq_ignore_ascii_case(b"content-length") {
                let n = parse_length(h.value)?;
                if length.is_some_and(|seen| seen != n) {
                    return Err(FailureReason::Protocol);
                }
                length = Some(n);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                // The last coding decides: chunked ends the body, anything else reads to close.
                chunked = Some(last_token(h.value).eq_ignore_ascii_case(b"chunked"));
            } else if name.eq_ignore_ascii_case(b"connection") {
                for token in h.value.split(|b| *b == b',') {
                    let token = token.trim_ascii();
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") && !http11 {
                        close = false;
                    }
                }
            }
        }
        // The header lines: from the first name to the end of the last value.
        let base = buf.as_ptr() as usize;
        let lines = match (resp.headers.first(), resp.headers.last()) {
            (Some(first), Some(last)) => {
                let from = first.name.as_ptr() as usize - base;
                from..last.value.as_ptr() as usize - base + last.value.len()
            }
            _ => 0..0,
        };
        (len, status, lines, length, chunked, close)
    };
    let head = buf.split_to(len).freeze();
    let headers = Headers::raw(head.slice(lines));
    let framing = if head_request || (100..200).contains(&status) || status == 204 || status == 304
    {
        Framing::Empty
    } else {
        match (chunked, length) {
            (Some(true), _) => Framing::Chunked,
            (Some(false), _) => Framing::UntilClose,
            (None, Some(n)) => Framing::Length(n),
            (None, None) => Framing::UntilClose,
        }
    };
    // A message with both lengths may be smuggled: read it, but never reuse the connection.
    let ambiguous = chunked.is_some() && length.is_some();
    let keep_alive = !close && !ambiguous && framing != Framing::UntilClose && status != 101;
    Ok(Some(Head {
        status,
        headers,
        framing,
        keep_alive,
    }))
}

/// A `content-length` value: digits only (a list of equal values is accepted, as hyper does).
fn parse_length(value: &[u8]) -> Result<u64, FailureReason> {
    let mut out: Option<u64> = None;
    for part in value.split(|b| *b == b',') {
        let part = part.trim_ascii();
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) || part.len() > 19 {
            return Err(FailureReason::Protocol);
        }
        let n = part.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        if out.is_some_and(|seen| seen != n) {
            return Err(FailureReason::Protocol);
        }
        out = Some(n);
    }
    out.ok_or(FailureReason::Protocol)
}

fn last_token(value: &[u8]) -> &[u8] {
    value
        .rsplit(|b| *b == b',')
        .next()
        .unwrap_or_default()
        .trim_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_bytes(raw: &[u8], head_request: bool) -> Result<Option<Head>, FailureReason> {
        parse_response(&mut BytesMut::from(raw), head_request)
    }

    fn parse(raw: &str) -> Head {
        parse_bytes(raw.as_bytes(), false)
            .expect("valid")
            .expect("complete")
    }

    #[test]
    fn a_get_is_written_in_origin_form_with_host_and_no_length() {
        let mut out = Vec::new();
        let mut h = HeaderMap::new();
        h.insert("x-a", HeaderValue::from_static("1"));
        let host = HeaderValue::from_static("127.0.0.1:8080");
        encode_request(&mut out, &Method::GET, "/p?q=1", &h, &host, None, b"");
        assert_eq!(
            out,
            b"GET /p?q=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nx-a: 1\r\n\r\n"
        );
    }

    #[test]
    fn a_post_carries_its_length_even_when_empty_and_a_given_host_wins() {
        let mut out = Vec::new();
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("api.test"));
        let host = HeaderValue::from_static("ignored");
        encode_request(&mut out, &Method::POST, "", &h, &host, None, b"");
        assert_eq!(
            out,
            b"POST / HTTP/1.1\r\nhost: api.test\r\ncontent-length: 0\r\n\r\n"
        );
        encode_request(
            &mut out,
            &Method::PUT,
            "/x",
            &HeaderMap::new(),
            &host,
            None,
            b"{}",
        );
        assert_eq!(
            out,
            b"PUT /x HTTP/1.1\r\nhost: ignored\r\ncontent-length: 2\r\n\r\n{}"
        );
    }

    #[test]
    fn a_traceparent_is_written_once_and_replaces_the_requests_own() {
        let mut out = Vec::new();
        let mut h = HeaderMap::new();
        h.insert("traceparent", HeaderValue::from_static("set-by-the-plan"));
        h.insert("x-a", HeaderValue::from_static("1"));
        let host = HeaderValue::from_static("h");
        encode_request(
            &mut out,
            &Method::GET,
            "/",
            &h,
            &host,
            Some(b"00-ab-cd-01"),
            b"",
        );
        assert_eq!(
            out,
            b"GET / HTTP/1.1\r\nhost: h\r\nx-a: 1\r\ntraceparent: 00-ab-cd-01\r\n\r\n"
        );
        encode_request(&mut out, &Method::GET, "/", &h, &host, None, b"");
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("traceparent: set-by-the-plan\r\n"), "{text}");
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let f = |raw: &str| parse(raw).framing;
        assert_eq!(
            f("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"),
            Framing::Length(5)
        );
        assert_eq!(
            f("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\n"),
            Framing::Chunked
        );
        assert_eq!(
            f("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n"),
            Framing::UntilClose
        );
        assert_eq!(f("HTTP/1.1 200 OK\r\n\r\n"), Framing::UntilClose);
        assert_eq!(
            f("HTTP/1.1 204 No Content\r\ncontent-length: 9\r\n\r\n"),
            Framing::Empty
        );
        assert_eq!(f("HTTP/1.1 304 Not Modified\r\n\r\n"), Framing::Empty);
        assert_eq!(f("HTTP/1.1 100 Continue\r\n\r\n"), Framing::Empty);
        let head = parse_bytes(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n", true);
        assert_eq!(
            head.unwrap().unwrap().framing,
            Framing::Empty,
            "a HEAD response"
        );
    }

    #[test]
    fn keep_alive_follows_version_and_connection_header() {
        let k = |raw: &str| parse(raw).keep_alive;
        assert!(k("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"));
        assert!(!k(
            "HTTP/1.1 200 OK\r\nConnection: Close\r\ncontent-length: 0\r\n\r\n"
        ));
        assert!(!k("HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n"));
        assert!(k(
            "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n"
        ));
        assert!(!k("HTTP/1.1 200 OK\r\n\r\n"), "read to close");
        assert!(
            !k("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n"),
            "both lengths: never reused"
        );
    }

    #[test]
    fn malformed_heads_are_protocol_failures_and_partial_ones_wait() {
        let p = |raw: &[u8]| parse_bytes(raw, false).map(|h| h.map(|h| h.status));
        assert_eq!(p(b"HTTP/1.1 200 OK\r\ncontent-le"), Ok(None));
        assert_eq!(
            p(b"HELLO I AM NOT HTTP\r\n\r\n"),
            Err(FailureReason::Protocol)
        );
        assert_eq!(
            p(b"HTTP/1.1 200 OK\r\ncontent-length: 5x\r\n\r\n"),
            Err(FailureReason::Protocol)
        );
        assert_eq!(
            p(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n"),
            Err(FailureReason::Protocol)
        );
        assert_eq!(
            p(b"HTTP/1.1 200 OK\r\ncontent-length: 5, 5\r\n\r\n"),
            Ok(Some(200))
        );
        let many: String = (0..=MAX_HEADERS).map(|i| format!("x-{i}: v\r\n")).collect();
        let raw = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
        assert_eq!(
            p(raw.as_bytes()),
            Err(FailureReason::Protocol),
            "too many headers"
        );
        let endless = format!("HTTP/1.1 200 OK\r\nx: {}", "a".repeat(MAX_HEAD_BYTES + 1));
        assert_eq!(
            p(endless.as_bytes()),
            Err(FailureReason::Protocol),
            "endless head"
        );
    }

    #[test]
    fn headers_keep_their_values_and_repeats() {
        let head =
            parse("HTTP/1.1 201 Created\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-Id: 7\r\n\r\n");
        assert_eq!(head.status, 201);
        let cookies: Vec<_> = head
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(b"set-cookie"))
            .map(|(_, v)| v)
            .collect();
        assert_eq!(cookies, [b"a=1", b"b=2"]);
        assert_eq!(head.headers.get("x-id"), Some("7"));
    }

    #[test]
    fn only_plain_requests_are_written_here() {
        let req = |h: Option<(&str, &str)>| {
            let mut b = http::Request::builder().uri("http://a/");
            if let Some((k, v)) = h {
                b = b.header(k, v);
            }
            b.body(()).unwrap()
        };
        assert!(writes_itself(&req(None)));
        assert!(!writes_itself(&req(Some(("transfer-encoding", "chunked")))));
        assert!(!writes_itself(&req(Some(("expect", "100-continue")))));
        assert!(!writes_itself(&req(Some(("upgrade", "websocket")))));
    }
}
