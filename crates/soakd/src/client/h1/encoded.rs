//! A request whose bytes never change (static URL, headers and body), encoded once per run.
//!
//! Most load-plan requests are static. Building an `http::Request` per send, encoding its head
//! and dropping it again was about a tenth of the generator's user time per request; a static
//! request is copied into the write buffer instead, with the `traceparent` line spliced in when
//! the request is sampled for tracing.

use super::head;
use hyper::http::{self, HeaderValue, Method};

/// The wire bytes of one static request, split where a `traceparent` line goes. Not `Debug`:
/// the bytes may hold a secret header.
pub(in crate::client) struct Encoded {
    bytes: Vec<u8>,
    /// End of the request line and headers; the tail (length, blank line, body) follows.
    split: usize,
    /// HEAD: the response has no body whatever its headers say.
    pub(super) head_request: bool,
}

impl Encoded {
    /// `req` with `body` as `head::encode_request` writes it, Host from `host` unless it has
    /// one. None when the request carries its own `traceparent` (a sampled send replaces it:
    /// left to the per-send path).
    pub(in crate::client) fn new(
        req: &http::Request<impl Sized>,
        body: &[u8],
        host: &HeaderValue,
    ) -> Option<Self> {
        if req.headers().contains_key(crate::client::TRACEPARENT) {
            return None;
        }
        let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
        let mut bytes = Vec::new();
        head::encode_lines(&mut bytes, req.method(), target, req.headers(), host, false);
        let split = bytes.len();
        head::encode_tail(&mut bytes, req.method(), req.headers(), body);
        Some(Encoded {
            bytes,
            split,
            head_request: *req.method() == Method::HEAD,
        })
    }

    /// Writes the request into `out` (cleared first), with a `traceparent` line when given.
    pub(super) fn write_into(&self, out: &mut Vec<u8>, traceparent: Option<&[u8]>) {
        out.clear();
        out.extend_from_slice(&self.bytes[..self.split]);
        if let Some(v) = traceparent {
            head::line(out, b"traceparent", v);
        }
        out.extend_from_slice(&self.bytes[self.split..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded_per_send(req: &http::Request<&'static [u8]>, tp: Option<&[u8]>) -> Vec<u8> {
        let host = HeaderValue::from_static("h:1");
        let mut out = Vec::new();
        let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
        head::encode_request(
            &mut out,
            req.method(),
            target,
            req.headers(),
            &host,
            tp,
            req.body(),
        );
        out
    }

    #[test]
    fn a_static_request_is_the_same_bytes_as_one_encoded_per_send() {
        let tp = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let requests = [
            http::Request::get("http://h:1/a?b=c")
                .body(&b""[..])
                .unwrap(),
            http::Request::post("http://h:1/orders")
                .header("content-type", "application/json")
                .header("x-a", "1")
                .body(&b"{\"n\":1}"[..])
                .unwrap(),
            http::Request::head("http://h:1/").body(&b""[..]).unwrap(),
            http::Request::put("http://h:1/e").body(&b""[..]).unwrap(),
        ];
        let host = HeaderValue::from_static("h:1");
        for req in &requests {
            let e = Encoded::new(req, req.body(), &host).expect("static");
            for trace in [None, Some(&tp[..])] {
                let mut out = vec![b'x'; 3];
                e.write_into(&mut out, trace);
                assert_eq!(
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(&encoded_per_send(req, trace)),
                    "{} {} trace {}",
                    req.method(),
                    req.uri(),
                    trace.is_some()
                );
            }
            assert_eq!(e.head_request, req.method() == Method::HEAD);
        }
    }

    #[test]
    fn a_request_with_its_own_traceparent_is_left_to_the_per_send_path() {
        let req = http::Request::get("http://h:1/")
            .header("traceparent", "00-1-2-01")
            .body(&b""[..])
            .unwrap();
        assert!(Encoded::new(&req, b"", &HeaderValue::from_static("h:1")).is_none());
    }
}
