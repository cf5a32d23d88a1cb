//! A VU's own HTTP/1.1 connection to a plain-HTTP target, outside the shared pool.
//!
//! Closed-loop generators that lead on throughput (wrk, oha) give each connection to one
//! worker; a shared pool costs a lock, a lookup and a hand-off per request. A VU keeps its
//! connection here between requests and iterations and reconnects when the server closes it.
//! HTTPS, h2c and requests to another authority go through the pool as before.

use super::{FailureReason, HttpClient, Response, TRACEPARENT, TraceParent, h1};
use bytes::Bytes;
use http_body_util::Full;
use hyper::http::{self, HeaderValue};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;
use tokio::time::Sleep;

/// The connection slot of one VU.
#[derive(Default)]
pub struct Sticky {
    link: Link,
    /// The request timeout, kept for the VU's life and moved forward per request: a reset to a
    /// later deadline is one atomic update, where a new timer per request is a wheel insert and
    /// removal under the time driver's lock. Boxed: it is pinned once and stays put.
    timer: Option<Pin<Box<Sleep>>>,
}

/// The connection itself and what it was opened to.
#[derive(Default)]
struct Link {
    authority: Option<http::uri::Authority>,
    /// The Host header of `authority`, built once per connection target.
    host: Option<HeaderValue>,
    conn: Option<h1::Conn>,
}

impl Link {
    /// The outcome of an exchange that `by_deadline` may have cut (None: the deadline came).
    fn timed_out(
        &mut self,
        outcome: Option<Result<Response, FailureReason>>,
    ) -> Result<Response, FailureReason> {
        outcome.unwrap_or_else(|| {
            // The connection may be mid-response: never reuse it.
            self.conn = None;
            Err(FailureReason::Timeout)
        })
    }
}

/// A static request, encoded once per run for the VUs' own connections. Not `Debug`: its
/// bytes may hold a secret header.
pub struct FixedRequest {
    authority: http::uri::Authority,
    encoded: h1::Encoded,
    idempotent: bool,
}

/// The VU's timer for one send, and the send's deadline.
///
/// The timer is moved only when it would fire after the deadline. One left at an earlier
/// send's (earlier) deadline is moved on when it fires: one extra wake per timeout period
/// instead of a timer update per request.
struct Due<'a> {
    timer: Pin<&'a mut Sleep>,
    at: tokio::time::Instant,
}

fn arm(timer: &mut Option<Pin<Box<Sleep>>>, deadline: std::time::Instant) -> Due<'_> {
    let at = tokio::time::Instant::from_std(deadline);
    let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
    if timer.deadline() > at {
        timer.as_mut().reset(at);
    }
    Due {
        timer: timer.as_mut(),
        at,
    }
}

impl Due<'_> {
    /// Ready once the deadline has passed.
    fn poll_passed(&mut self, cx: &mut std::task::Context<'_>) -> Poll<()> {
        loop {
            std::task::ready!(self.timer.as_mut().poll(cx));
            if self.timer.deadline() >= self.at {
                return Poll::Ready(());
            }
            // Fired at an earlier send's deadline: on to this one's.
            self.timer.as_mut().reset(self.at);
        }
    }
}

/// `within(due, exchange)`, the exchange pinned in the caller's own state: passed by value to
/// an async fn it would be copied into that fn's state first (hundreds of bytes per request).
macro_rules! within {
    ($due:expr, $exchange:expr) => {{
        let mut exchange = std::pin::pin!($exchange);
        within($due, exchange.as_mut()).await
    }};
}

/// Runs `exchange` until its deadline: None when the deadline came first. The exchange is
/// polled first, then the timer (as `tokio::time::timeout` does).
async fn within<T>(
    due: &mut Due<'_>,
    mut exchange: Pin<&mut impl Future<Output = T>>,
) -> Option<T> {
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = exchange.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        due.poll_passed(cx).map(|()| None)
    })
    .await
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
        let deadline = std::time::Instant::now() + timeout;
        self.send_sticky_counted(slot, req, deadline, true, None, rebuild)
            .await
            .0
    }

    /// `send_sticky` that says whether it re-sent, and why (`reset`: sent on a reused
    /// connection that died without a response byte; `closed`: the reused connection was closed
    /// before the request went out). With `retry` false nothing is re-sent: the first failure
    /// is the outcome (`target.retry_on_reused_connection: false`). `trace` is sent as the
    /// `traceparent` header, on the re-sent copy too. The whole exchange, re-sending included,
    /// ends by `deadline` (the caller's clock read plus the request's timeout).
    pub async fn send_sticky_counted(
        &self,
        slot: &mut Sticky,
        mut req: http::Request<Full<Bytes>>,
        deadline: std::time::Instant,
        retry: bool,
        trace: Option<TraceParent>,
        rebuild: impl FnOnce() -> Option<http::Request<Full<Bytes>>>,
    ) -> (Result<Response, FailureReason>, Option<&'static str>) {
        if self.h2c
            || req.uri().scheme_str() != Some("http")
            || req.uri().authority().is_none()
            || !h1::writes_itself(&req)
        {
            if let Some(v) = trace.and_then(|t| t.header_value()) {
                req.headers_mut().insert(TRACEPARENT, v);
            }
            let timeout = deadline.saturating_duration_since(std::time::Instant::now());
            // Boxed: the pooled path is rare here and would otherwise widen every VU's future.
            return (Box::pin(self.send(req, timeout)).await, None);
        }
        let trace = trace.as_ref().map(TraceParent::as_bytes);
        let (mut retried, mut ignored) = (None, None);
        let retryable = retry && is_idempotent(&req);
        let first = req.map(|body| Plain(full_bytes(body)));
        let Some(authority) = first.uri().authority() else {
            return (Err(FailureReason::Protocol), None);
        };
        let Sticky { link, timer } = slot;
        let mut due = arm(timer, deadline);
        let (mut again, mut rebuild) = (None, Some(rebuild));
        // As in `send_sticky_fixed`: one exchange future at a time.
        loop {
            let outcome = {
                let resend = again.is_some();
                let msg = h1::Msg::Built(again.as_ref().unwrap_or(&first));
                let noted = if resend { &mut ignored } else { &mut retried };
                let exchange =
                    self.exchange_sticky(link, authority, msg, trace, retry && !resend, noted);
                within!(&mut due, exchange)
            };
            match outcome {
                Some(Err(Stale)) if retryable && again.is_none() => {
                    match rebuild.take().and_then(|rebuild| rebuild()) {
                        Some(req) => {
                            retried = Some("reset");
                            again = Some(req.map(|body| Plain(full_bytes(body))));
                        }
                        None => return (Err(FailureReason::Reset), retried),
                    }
                }
                outcome => {
                    return (
                        link.timed_out(outcome.map(|o| o.map_err(Into::into))),
                        retried,
                    );
                }
            }
        }
    }

    /// `send_sticky_counted` for a request encoded once per run ([`HttpClient::fixed`]): no
    /// request is built per send, and a re-send writes the same bytes again.
    pub async fn send_sticky_fixed(
        &self,
        slot: &mut Sticky,
        req: &FixedRequest,
        deadline: std::time::Instant,
        retry: bool,
        trace: Option<TraceParent>,
    ) -> (Result<Response, FailureReason>, Option<&'static str>) {
        let trace = trace.as_ref().map(TraceParent::as_bytes);
        let (mut retried, mut ignored) = (None, None);
        let Sticky { link, timer } = slot;
        let mut due = arm(timer, deadline);
        let mut resend = false;
        // One exchange future at a time (a re-send reuses its place): the state machine stays
        // small, and so does every copy of it.
        loop {
            let outcome = {
                let msg = h1::Msg::Encoded(&req.encoded);
                let noted = if resend { &mut ignored } else { &mut retried };
                let exchange =
                    self.exchange_sticky(link, &req.authority, msg, trace, retry && !resend, noted);
                within!(&mut due, exchange)
            };
            match outcome {
                Some(Err(Stale)) if retry && req.idempotent && !resend => {
                    retried = Some("reset");
                    resend = true;
                }
                outcome => {
                    return (
                        link.timed_out(outcome.map(|o| o.map_err(Into::into))),
                        retried,
                    );
                }
            }
        }
    }

    /// `req` encoded once, when it can go on a VU's own connection: plain HTTP/1.1 that this
    /// client frames itself (see [`h1::writes_itself`]), without a `traceparent` of its own.
    pub fn fixed(&self, req: &http::Request<Full<Bytes>>) -> Option<FixedRequest> {
        if self.h2c || req.uri().scheme_str() != Some("http") || !h1::writes_itself(req) {
            return None;
        }
        let authority = req.uri().authority()?.clone();
        let host = HeaderValue::from_str(authority.as_str()).ok()?;
        let body = full_bytes(req.body().clone());
        Some(FixedRequest {
            encoded: h1::Encoded::new(req, &body, &host)?,
            idempotent: is_idempotent(req),
            authority,
        })
    }

    async fn exchange_sticky(
        &self,
        slot: &mut Link,
        authority: &http::uri::Authority,
        msg: h1::Msg<'_, Plain>,
        trace: Option<&[u8]>,
        retry: bool,
        retried: &mut Option<&'static str>,
    ) -> Result<Response, Failed> {
        if slot.authority.as_ref() != Some(authority) {
            let host =
                HeaderValue::from_str(authority.as_str()).map_err(|_| FailureReason::Protocol)?;
            slot.conn = None;
            slot.host = Some(host);
            slot.authority = Some(authority.clone());
        }
        let Link { host, conn, .. } = slot;
        let host = host.as_ref().ok_or(FailureReason::Protocol)?;
        if conn.as_mut().is_some_and(|c| !c.looks_open()) {
            *conn = None; // closed by the server while idle: a fresh one, nothing re-sent
        }
        let mut reused = conn.is_some();
        if !reused {
            // Boxed, here and below: a connect is rare on this path, and its future (a resolver
            // and a timer) would otherwise widen the state of every exchange.
            *conn = Some(Box::pin(self.connect(authority)).await?);
        }
        loop {
            let c = conn.as_mut().ok_or(FailureReason::Connect)?;
            match c.exchange(msg, host, trace, self.max_body_bytes).await {
                Ok(done) => {
                    if !done.keep_alive {
                        *conn = None;
                    }
                    return Ok(done.response);
                }
                // Not sent at all (the server closed an idle connection): retry once, fresh.
                Err(h1::Error::NotSent) if reused && retry => {
                    reused = false;
                    *retried = Some("closed");
                    *conn = Some(Box::pin(self.connect(authority)).await?);
                }
                Err(e) => {
                    *conn = None;
                    return Err(match e {
                        // Sent on a reused connection that the server had already closed.
                        h1::Error::NotSent | h1::Error::NoResponse if reused => Stale,
                        h1::Error::NotSent | h1::Error::NoResponse => FailureReason::Reset.into(),
                        h1::Error::Failed(reason) => reason.into(),
                    });
                }
            }
        }
    }

    async fn connect(&self, authority: &http::uri::Authority) -> Result<h1::Conn, FailureReason> {
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
        Ok(h1::Conn::new(stream))
    }
}

/// The bytes of a `Full` body (ready at once: it holds them).
fn full_bytes(mut body: Full<Bytes>) -> Bytes {
    use futures_util::FutureExt;
    use http_body_util::BodyExt;
    match body.frame().now_or_never() {
        Some(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
        _ => Bytes::new(),
    }
}

/// A request body as the connection writes it.
struct Plain(Bytes);

impl AsRef<[u8]> for Plain {
    fn as_ref(&self) -> &[u8] {
        &self.0
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
