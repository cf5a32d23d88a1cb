//! HTTP/1.1 request heads as this client writes them: the request line, Host, the request's
//! headers and `content-length` as hyper would send them.
//!
//! Pure functions over byte buffers, so every rule is tested without a socket. Reading a
//! response head is [`super::response`].

use hyper::http::{self, HeaderMap, HeaderValue, Method, header};

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

#[cfg(test)]
mod tests {
    use super::*;

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
