//! A VU's own HTTP/1.1 connection to a plain-HTTP target, outside the shared pool.
//!
//! Closed-loop generators that lead on throughput (wrk, oha) give each connection to one
//! worker; a shared pool costs a lock, a lookup and a hand-off per request. A VU keeps its
//! connection here between requests and iterations and reconnects when the server closes it.
//! HTTPS, h2c and requests to another authority go through the pool as before.

use super::{FailureReason, HttpClient, Response, classify, read_capped};
use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::http::{self, HeaderValue, Uri, header};
use hyper_util::rt::TokioIo;
use std::time::Duration;

/// The connection slot of one VU.
#[derive(Default)]
pub struct Sticky {
    authority: Option<http::uri::Authority>,
    /// The Host header of `authority`, built once per connection target.
    host: Option<HeaderValue>,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl HttpClient {
    /// Like `send`, on the VU's own connection when the request is plain HTTP/1.1.
    ///
    /// A kept-alive connection can be closed by the server in the instant the next request is
    /// written (its idle timeout races our reuse). Like Go's `net/http` and browsers, an
    /// idempotent request that got no response byte on a *reused* connection is sent once more on
    /// a fresh one; `rebuild` makes that copy only then, so the hot path clones nothing.
    pub async fn send_sticky(
        &self,
        slot: &mut Sticky,
        req: http::Request<Full<Bytes>>,
        timeout: Duration,
        rebuild: impl FnOnce() -> Option<http::Request<Full<Bytes>>>,
    ) -> Result<Response, FailureReason> {
        self.send_sticky_counted(slot, req, timeout, true, rebuild)
            .await
            .0
    }

    /// `send_sticky` that says whether it re-sent, and why (`reset`: sent on a reused
    /// connection that died without a response byte; `closed`: the reused connection was closed
    /// before the request went out). With `retry` false nothing is re-sent: the first failure
    /// is the outcome (`target.retry_on_reused_connection: false`).
    pub async fn send_sticky_counted(
        &self,
        slot: &mut Sticky,
        req: http::Request<Full<Bytes>>,
        timeout: Duration,
        retry: bool,
        rebuild: impl FnOnce() -> Option<http::Request<Full<Bytes>>>,
    ) -> (Result<Response, FailureReason>, Option<&'static str>) {
        if self.h2c || req.uri().scheme_str() != Some("http") || req.uri().authority().is_none() {
            // Boxed: the pooled path is rare here and would otherwise widen every VU's future.
            return (Box::pin(self.send(req, timeout)).await, None);
        }
        let mut retried = None;
        let outcome = {
            // Pinned in place: `timeout` then holds a pointer, not a moved copy of this (large)
            // future, a memcpy of several KB per request otherwise.
            let exchange = std::pin::pin!(async {
                let retryable = retry && is_idempotent(&req);
                match self.exchange_sticky(slot, req, retry, &mut retried).await {
                    Err(Stale) if retryable => match rebuild() {
                        Some(again) => {
                            retried = Some("reset");
                            let mut again_retried = None;
                            self.exchange_sticky(slot, again, false, &mut again_retried)
                                .await
                                .map_err(Into::into)
                        }
                        None => Err(FailureReason::Reset),
                    },
                    other => other.map_err(Into::into),
                }
            });
            tokio::time::timeout(timeout, exchange).await
        };
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(_) => {
                // The connection may be mid-response: never reuse it.
                slot.sender = None;
                Err(FailureReason::Timeout)
            }
        };
        (outcome, retried)
    }

    async fn exchange_sticky(
        &self,
        slot: &mut Sticky,
        mut req: http::Request<Full<Bytes>>,
        retry: bool,
        retried: &mut Option<&'static str>,
    ) -> Result<Response, Failed> {
        let authority = req
            .uri()
            .authority()
            .cloned()
            .ok_or(FailureReason::Protocol)?;
        if slot.authority.as_ref() != Some(&authority) {
            let host =
                HeaderValue::from_str(authority.as_str()).map_err(|_| FailureReason::Protocol)?;
            slot.sender = None;
            slot.host = Some(host);
            slot.authority = Some(authority.clone());
        }
        origin_form(&mut req, slot.host.as_ref())?;
        let usable = slot.sender.as_ref().is_some_and(|s| !s.is_closed());
        let mut reused = usable;
        if !usable {
            slot.sender = Some(Box::pin(self.connect(&authority)).await?);
        }
        loop {
            let sender = slot.sender.as_mut().ok_or(FailureReason::Connect)?;
            if sender.ready().await.is_err() {
                if reused {
                    reused = false;
                    slot.sender = Some(Box::pin(self.connect(&authority)).await?);
                    continue;
                }
                slot.sender = None;
                return Err(FailureReason::Reset.into());
            }
            match sender.try_send_request(req).await {
                Ok(resp) => {
                    let (parts, body) = resp.into_parts();
                    let body = read_capped(body, self.max_body_bytes).await;
                    if body.is_err() {
                        slot.sender = None;
                    }
                    return Ok(Response {
                        status: parts.status.as_u16(),
                        headers: parts.headers,
                        body: body?,
                    });
                }
                Err(mut e) => match e.take_message() {
                    // Not sent at all (the server closed an idle connection): retry once, fresh.
                    Some(back) if reused && retry => {
                        reused = false;
                        *retried = Some("closed");
                        req = back;
                        slot.sender = Some(Box::pin(self.connect(&authority)).await?);
                    }
                    _ => {
                        slot.sender = None;
                        let reason = classify(e.error());
                        if reused && reason == FailureReason::Reset {
                            // Sent on a reused connection that the server had already closed.
                            return Err(Stale);
                        }
                        return Err(reason.into());
                    }
                },
            }
        }
    }

    async fn connect(
        &self,
        authority: &http::uri::Authority,
    ) -> Result<SendRequest<Full<Bytes>>, FailureReason> {
        // `host()` keeps the brackets of an IPv6 literal, as `connect` wants them.
        let addr = format!(
            "{}:{}",
            authority.host(),
            authority.port_u16().unwrap_or(80)
        );
        let stream =
            match tokio::time::timeout(self.connect_timeout, tokio::net::TcpStream::connect(addr))
                .await
            {
                Ok(Ok(s)) => s,
                _ => return Err(FailureReason::Connect),
            };
        let _ = stream.set_nodelay(true);
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| classify(&e))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }
}

/// Why a sticky exchange failed: a reason, or a reused connection closed under the request.
enum Failed {
    Reason(FailureReason),
    Stale,
}
use Failed::Stale;

impl From<FailureReason> for Failed {
    fn from(r: FailureReason) -> Self {
        Failed::Reason(r)
    }
}

impl From<Failed> for FailureReason {
    fn from(f: Failed) -> Self {
        match f {
            Failed::Reason(r) => r,
            Failed::Stale => FailureReason::Reset,
        }
    }
}

/// The requests Go's transport also retries: safe methods, or an explicit idempotency key.
fn is_idempotent(req: &http::Request<Full<Bytes>>) -> bool {
    matches!(
        *req.method(),
        http::Method::GET | http::Method::HEAD | http::Method::OPTIONS | http::Method::TRACE
    ) || req.headers().contains_key("idempotency-key")
        || req.headers().contains_key("x-idempotency-key")
}

/// HTTP/1.1 origin servers expect `GET /path?query` with a Host header.
fn origin_form(
    req: &mut http::Request<Full<Bytes>>,
    host: Option<&HeaderValue>,
) -> Result<(), FailureReason> {
    if let Some(host) = host
        && !req.headers().contains_key(header::HOST)
    {
        req.headers_mut().insert(header::HOST, host.clone());
    }
    // Reuses the path's shared bytes: no parsing, no copy.
    let mut parts = http::uri::Parts::default();
    parts.path_and_query = Some(
        req.uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
    );
    *req.uri_mut() = Uri::from_parts(parts).map_err(|_| FailureReason::Protocol)?;
    Ok(())
}
