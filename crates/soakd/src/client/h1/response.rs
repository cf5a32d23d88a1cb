//! HTTP/1.1 response heads as this client reads them: the status line and headers, and how the
//! body is framed (RFC 9112 §6.3).
//!
//! The heads load targets send are read by [`scan`], a one-pass scan of the strict form; anything
//! else (an incomplete head included) goes to httparse, which decides. Both hand the header
//! lines to one [`Fields`], so the framing rules exist once. Pure functions over byte buffers,
//! so every rule is tested without a socket.

use super::scan;
use crate::client::{FailureReason, Headers};
use bytes::BytesMut;
use std::mem::MaybeUninit;
use std::ops::Range;

/// Headers a response may carry before it is refused (hyper's default).
pub(super) const MAX_HEADERS: usize = 100;

/// Bytes a response head may take before it is refused (hyper's default buffer limit).
pub(super) const MAX_HEAD_BYTES: usize = 8192 + 4096 * 100;

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

/// What the framing rules need from the header lines, gathered one line at a time.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Fields {
    length: Option<u64>,
    /// Some(true) when the last transfer coding is chunked, Some(false) for any other.
    chunked: Option<bool>,
    /// A `close` connection option was seen.
    any_close: bool,
    /// The last of the `close` (true) and `keep-alive` (false) connection options.
    last_option: Option<bool>,
}

impl Fields {
    /// Takes in one header line (the value without surrounding whitespace).
    fn line(&mut self, name: &[u8], value: &[u8]) -> Result<(), FailureReason> {
        // Most lines are none of the three: their length says so without comparing bytes.
        if !matches!(name.len(), 10 | 14 | 17) {
            return Ok(());
        }
        if folded_eq(name, b"content-length") {
            let n = parse_length(value)?;
            if self.length.is_some_and(|seen| seen != n) {
                return Err(FailureReason::Protocol);
            }
            self.length = Some(n);
        } else if folded_eq(name, b"transfer-encoding") {
            // The last coding decides: chunked ends the body, anything else reads to close.
            self.chunked = Some(folded_eq(last_token(value), b"chunked"));
        } else if folded_eq(name, b"connection") {
            // The common values whole (the value comes without surrounding whitespace).
            if folded_eq(value, b"keep-alive") {
                self.last_option = Some(false);
                return Ok(());
            }
            if folded_eq(value, b"close") {
                self.any_close = true;
                self.last_option = Some(true);
                return Ok(());
            }
            for token in value.split(|b| *b == b',') {
                let token = token.trim_ascii();
                if folded_eq(token, b"close") {
                    self.any_close = true;
                    self.last_option = Some(true);
                } else if folded_eq(token, b"keep-alive") {
                    self.last_option = Some(false);
                }
            }
        }
        Ok(())
    }

    /// Whether the server closes the connection after this response: HTTP/1.1 on `close`,
    /// HTTP/1.0 unless its last word was `keep-alive`.
    fn closes(&self, http11: bool) -> bool {
        if http11 {
            self.any_close
        } else {
            self.last_option != Some(false)
        }
    }
}

/// A complete head before framing: its length, status, where its header lines are.
#[derive(Debug, PartialEq, Eq)]
struct Read {
    len: usize,
    status: u16,
    http11: bool,
    /// From the first header name to the end of the last value.
    lines: Range<usize>,
    fields: Fields,
}

/// Parses the response head at the start of `buf` and takes it out: `Ok(None)` (and `buf`
/// untouched) until it is complete. The headers keep the head's bytes (no copy, no map).
///
/// `head_request` says the request was HEAD (no body whatever the headers say).
pub(super) fn parse_response(
    buf: &mut BytesMut,
    head_request: bool,
) -> Result<Option<Head>, FailureReason> {
    let Some(read) = read(buf)? else {
        return Ok(None);
    };
    let Read {
        len,
        status,
        http11,
        lines,
        fields,
    } = read;
    let head = buf.split_to(len).freeze();
    let headers = Headers::raw(head.slice(lines));
    let framing = if head_request || (100..200).contains(&status) || status == 204 || status == 304
    {
        Framing::Empty
    } else {
        match (fields.chunked, fields.length) {
            (Some(true), _) => Framing::Chunked,
            (Some(false), _) => Framing::UntilClose,
            (None, Some(n)) => Framing::Length(n),
            (None, None) => Framing::UntilClose,
        }
    };
    // A message with both lengths may be smuggled: read it, but never reuse the connection.
    let ambiguous = fields.chunked.is_some() && fields.length.is_some();
    let keep_alive =
        !fields.closes(http11) && !ambiguous && framing != Framing::UntilClose && status != 101;
    Ok(Some(Head {
        status,
        headers,
        framing,
        keep_alive,
    }))
}

/// The head at the start of `buf`: by the fast scan when it takes it, else by httparse.
fn read(buf: &[u8]) -> Result<Option<Read>, FailureReason> {
    match fast(buf) {
        Some(read) => Ok(Some(read)),
        None => by_httparse(buf),
    }
}

/// The fast scan: None when it does not take the head (httparse then decides, errors included).
fn fast(buf: &[u8]) -> Option<Read> {
    let mut fields = Fields::default();
    let scanned = scan::head(buf, MAX_HEADERS, |name, value| {
        fields.line(name, value).is_ok()
    })?;
    Some(Read {
        len: scanned.len,
        status: scanned.status,
        http11: scanned.http11,
        lines: scanned.lines,
        fields,
    })
}

/// httparse's reading of the head at the start of `buf`.
fn by_httparse(buf: &[u8]) -> Result<Option<Read>, FailureReason> {
    let mut slots = [const { MaybeUninit::<httparse::Header>::uninit() }; MAX_HEADERS];
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
    let mut fields = Fields::default();
    for h in resp.headers.iter() {
        fields.line(h.name.as_bytes(), h.value)?;
    }
    let base = buf.as_ptr() as usize;
    let lines = match (resp.headers.first(), resp.headers.last()) {
        (Some(first), Some(last)) => {
            let from = first.name.as_ptr() as usize - base;
            from..last.value.as_ptr() as usize - base + last.value.len()
        }
        _ => 0..0,
    };
    Ok(Some(Read {
        len,
        status,
        http11: resp.version == Some(1),
        lines,
        fields,
    }))
}
/// Whether `bytes` equal `lower` (lowercase letters and `-` only) in any letter case: one OR
/// per byte, eight bytes at a time. Exact for the bytes a parsed header name or value can hold:
/// `b | 0x20` is a letter only for that letter in either case, and `-` only for `-` or CR,
/// which ends a line and is never inside one.
fn folded_eq(bytes: &[u8], lower: &[u8]) -> bool {
    if bytes.len() != lower.len() {
        return false;
    }
    if bytes.len() < 8 {
        return bytes.iter().zip(lower).all(|(b, l)| b | 0x20 == *l);
    }
    let word = |s: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_ne_bytes(w)
    };
    const FOLD: u64 = u64::from_ne_bytes([0x20; 8]);
    // Whole words, the last one overlapping its neighbour when the length is not a multiple.
    let mut at = 0;
    loop {
        let from = at.min(bytes.len() - 8);
        if word(bytes, from) | FOLD != word(lower, from) {
            return false;
        }
        if from + 8 == bytes.len() {
            return true;
        }
        at += 8;
    }
}

/// A `content-length` value: digits only (a list of equal values is accepted, as hyper does).
fn parse_length(value: &[u8]) -> Result<u64, FailureReason> {
    // The common case: one number.
    if !value.is_empty() && value.len() <= 19 && value.iter().all(u8::is_ascii_digit) {
        return Ok(value.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')));
    }
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
    fn folded_comparison_is_case_insensitive_comparison_for_header_bytes() {
        // Every byte but CR (which ends a line and is never inside a name or value).
        for b in (0..=255u8).filter(|b| *b != b'\r') {
            for t in b"abcdefghijklmnopqrstuvwxyz-" {
                assert_eq!(
                    folded_eq(&[b], &[*t]),
                    b.eq_ignore_ascii_case(t),
                    "{b:#x} {t}"
                );
            }
        }
        for (bytes, lower, same) in [
            (&b"Content-Length"[..], &b"content-length"[..], true),
            (b"CONTENT-LENGTH", b"content-length", true),
            (b"Content-Lengt", b"content-length", false),
            (b"Content-Lengtx", b"content-length", false),
            (b"xontent-length", b"content-length", false),
            (b"Transfer-Encoding", b"transfer-encoding", true),
            (b"Transfer-Encodinf", b"transfer-encoding", false),
            (b"Keep-Alive", b"keep-alive", true),
            (b"CLOSE", b"close", true),
            (b"closes", b"close", false),
        ] {
            assert_eq!(folded_eq(bytes, lower), same, "{bytes:?}");
        }
    }

    #[test]
    fn the_fast_scan_and_httparse_read_the_framing_alike() {
        let heads: [&[u8]; 6] = [
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n",
            b"HTTP/1.0 200 OK\r\nConnection: close, keep-alive\r\n\r\n",
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 5, 5 \r\n\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n",
        ];
        for raw in heads {
            let fast = fast(raw);
            assert!(fast.is_some(), "{:?}", String::from_utf8_lossy(raw));
            assert_eq!(Ok(fast), by_httparse(raw));
        }
        // A line the framing rules refuse is left to httparse, which reports it.
        let bad = b"HTTP/1.1 200 OK\r\ncontent-length: 5x\r\n\r\n";
        assert_eq!(fast(bad), None);
        assert_eq!(read(bad), Err(FailureReason::Protocol));
    }
}
