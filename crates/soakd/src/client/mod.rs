//! The HTTP client: one request in, one outcome out (status and body, or a classified failure).
//!
//! The engine needs exactly two things from the network: a response it can check, or a reason
//! it failed that maps onto the bounded `reason` label of `soakd_http_request_failures_total`
//! (DESIGN §5). This module hides hyper, hyper-util's pooled client and rustls behind that
//! contract. It never decides `status` or `check` failures; those belong to the caller.

use std::error::Error as StdError;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Body as _;
use hyper_rustls::{ConfigBuilderExt, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

mod trace;
pub use trace::{TRACEPARENT, TraceId, TraceParent};
mod h1;
mod headers;
pub use headers::Headers;
mod sticky;

pub use hyper::http;
pub use sticky::{FixedRequest, Sticky};

/// Why a request did not produce a usable response (the `reason` metric label).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureReason {
    /// The status did not match what the request expected (decided by the caller).
    Status,
    /// The whole request, body included, exceeded its timeout.
    Timeout,
    /// TCP connect failed: refused, unreachable, DNS, or the connect timeout.
    Connect,
    /// The connection was reset or closed mid-message.
    Reset,
    /// The TLS handshake failed.
    Tls,
    /// The peer spoke malformed HTTP (or the request itself could not be sent).
    Protocol,
    /// The response body exceeded `max_body_bytes`.
    BodyTooLarge,
    /// A check on the response failed (decided by the caller).
    Check,
    /// Still in flight at the run's hard stop (end of `graceful_stop`, abort, shutdown): the
    /// request is recorded anyway, so every started request ends as a sample.
    Interrupted,
    /// A template did not render: nothing was sent (decided by the caller).
    Template,
    /// The URL's host is not in `safety.allowed_hosts`: nothing was sent (decided by the caller).
    NotAllowed,
}

impl FailureReason {
    /// Every reason, in label order; lets metrics pre-create all series.
    pub const ALL: [FailureReason; 11] = [
        FailureReason::Status,
        FailureReason::Timeout,
        FailureReason::Connect,
        FailureReason::Reset,
        FailureReason::Tls,
        FailureReason::Protocol,
        FailureReason::BodyTooLarge,
        FailureReason::Check,
        FailureReason::Interrupted,
        FailureReason::Template,
        FailureReason::NotAllowed,
    ];

    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Status => "status",
            FailureReason::Timeout => "timeout",
            FailureReason::Connect => "connect",
            FailureReason::Reset => "reset",
            FailureReason::Tls => "tls",
            FailureReason::Protocol => "protocol",
            FailureReason::BodyTooLarge => "body_too_large",
            FailureReason::Check => "check",
            FailureReason::Interrupted => "interrupted",
            FailureReason::Template => "template",
            FailureReason::NotAllowed => "not_allowed",
        }
    }
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the client pool is built; one client serves a whole run.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Idle keep-alive connections kept per host (sized to max VUs by the caller).
    pub pool_max_idle_per_host: usize,
    /// TCP connect timeout; exceeding it is a `Connect` failure.
    pub connect_timeout: Duration,
    /// Accept any server certificate (staging); handshake signatures are still checked.
    pub insecure_skip_verify: bool,
    /// HTTP/2 with prior knowledge over plain TCP (and h2-only ALPN over TLS).
    pub h2c: bool,
    /// Response bodies larger than this fail with `BodyTooLarge`.
    pub max_body_bytes: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            pool_max_idle_per_host: 64,
            connect_timeout: Duration::from_secs(5),
            insecure_skip_verify: false,
            h2c: false,
            max_body_bytes: 10 * 1024 * 1024,
        }
    }
}

/// Errors building a client (never per request).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// rustls refused the TLS configuration.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
}

/// A fully read response.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Headers,
    pub body: Bytes,
}

type Inner = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Pooled HTTP/1.1 + HTTP/2 client for `http://` and `https://`. Cloning is cheap (shared pool).
#[derive(Clone)]
pub struct HttpClient {
    inner: Inner,
    max_body_bytes: usize,
    connect_timeout: Duration,
    h2c: bool,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Builds the pool, the TCP connector and the rustls configuration (ring provider).
    pub fn new(opts: &ClientOptions) -> Result<Self, ClientError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?;
        let tls = if opts.insecure_skip_verify {
            versions
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCert { provider }))
                .with_no_client_auth()
        } else {
            versions.with_webpki_roots().with_no_client_auth()
        };

        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(opts.connect_timeout));

        let schemes = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http();
        let connector = if opts.h2c {
            schemes.enable_http2().wrap_connector(tcp)
        } else {
            schemes.enable_http1().enable_http2().wrap_connector(tcp)
        };

        let inner = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_max_idle_per_host(opts.pool_max_idle_per_host)
            .pool_idle_timeout(Duration::from_secs(90))
            .http2_only(opts.h2c)
            .build(connector);
        Ok(HttpClient {
            inner,
            max_body_bytes: opts.max_body_bytes,
            connect_timeout: opts.connect_timeout,
            h2c: opts.h2c,
        })
    }

    /// Sends the request and reads the whole body (capped at max_body_bytes), all within `timeout`.
    pub async fn send(
        &self,
        req: http::Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<Response, FailureReason> {
        match tokio::time::timeout(timeout, self.exchange(req)).await {
            Ok(outcome) => outcome,
            Err(_elapsed) => Err(FailureReason::Timeout),
        }
    }

    async fn exchange(&self, req: http::Request<Full<Bytes>>) -> Result<Response, FailureReason> {
        let resp = self.inner.request(req).await.map_err(|e| classify(&e))?;
        let (parts, body) = resp.into_parts();
        let body = read_capped(body, self.max_body_bytes).await?;
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers.into(),
            body,
        })
    }
}

/// Reads a body, failing as soon as it would exceed `cap`; a single-frame body is not copied.
///
/// The length hyper decoded from `Content-Length` (its size hint) caps the body before any
/// byte is read and ends the read with the last byte, without polling for the end of stream.
pub(crate) async fn read_capped(
    mut body: hyper::body::Incoming,
    cap: usize,
) -> Result<Bytes, FailureReason> {
    let declared = body.size_hint().exact();
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(FailureReason::BodyTooLarge);
    }
    let mut first: Option<Bytes> = None;
    let mut rest: Option<BytesMut> = None;
    let mut total = 0usize;
    while !body.is_end_stream() {
        let Some(frame) = body.frame().await else {
            break;
        };
        let frame = frame.map_err(|e| classify(&e))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers carry nothing the caller checks
        };
        if data.is_empty() {
            continue;
        }
        total = total.saturating_add(data.len());
        if total > cap {
            return Err(FailureReason::BodyTooLarge);
        }
        match (&mut first, &mut rest) {
            (None, _) => first = Some(data),
            (Some(head), None) => {
                let hint = declared.map_or(total, |n| n as usize).min(cap);
                let mut buf = BytesMut::with_capacity(hint.max(total));
                buf.extend_from_slice(head);
                buf.extend_from_slice(&data);
                rest = Some(buf);
            }
            (Some(_), Some(buf)) => buf.extend_from_slice(&data),
        }
    }
    Ok(match (first, rest) {
        (_, Some(buf)) => buf.freeze(),
        (Some(head), None) => head,
        (None, None) => Bytes::new(),
    })
}

/// Maps a hyper / hyper-util / connector error onto a failure reason by walking its causes.
///
/// TLS wins over everything (a TLS failure surfaces as a connect error); then io kinds; then
/// hyper's own flags; anything unrecognised from the connector is `Connect`, otherwise
/// `Protocol`.
pub(crate) fn classify(err: &(dyn StdError + 'static)) -> FailureReason {
    let mut is_connect = false;
    let mut io_reason = None;
    let mut hyper_reason = None;
    let mut tls = false;
    visit_chain(err, &mut |e| {
        if e.is::<rustls::Error>() {
            tls = true;
        } else if let Some(c) = e.downcast_ref::<hyper_util::client::legacy::Error>() {
            is_connect |= c.is_connect();
        } else if let Some(h) = e.downcast_ref::<hyper::Error>() {
            hyper_reason = hyper_reason.or(hyper_flags(h));
        } else if let Some(io) = e.downcast_ref::<io::Error>() {
            io_reason = io_reason.or(io_kind(io.kind()));
        }
    });
    if tls {
        return FailureReason::Tls;
    }
    if is_connect {
        // Before any byte of HTTP: refused, unreachable, DNS, connect timeout, bad scheme.
        return FailureReason::Connect;
    }
    io_reason
        .or(hyper_reason)
        .unwrap_or(FailureReason::Protocol)
}

fn hyper_flags(e: &hyper::Error) -> Option<FailureReason> {
    if e.is_incomplete_message() || e.is_canceled() || e.is_closed() || e.is_body_write_aborted() {
        Some(FailureReason::Reset)
    } else if e.is_timeout() {
        Some(FailureReason::Timeout)
    } else if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() || e.is_user() {
        Some(FailureReason::Protocol)
    } else {
        None
    }
}

fn io_kind(kind: io::ErrorKind) -> Option<FailureReason> {
    use io::ErrorKind as K;
    match kind {
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            Some(FailureReason::Reset)
        }
        K::ConnectionRefused | K::AddrNotAvailable | K::HostUnreachable | K::NetworkUnreachable => {
            Some(FailureReason::Connect)
        }
        K::TimedOut => Some(FailureReason::Timeout),
        _ => None,
    }
}

/// Calls `f` on every error in the chain. `io::Error::source` skips a custom payload, so the
/// payload is visited explicitly through `get_ref`. Depth-bounded against cyclic chains.
fn visit_chain(err: &(dyn StdError + 'static), f: &mut dyn FnMut(&(dyn StdError + 'static))) {
    let mut next = Some(err);
    let mut depth = 0;
    while let Some(e) = next {
        if depth >= 16 {
            return;
        }
        depth += 1;
        f(e);
        if let Some(inner) = e.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            let inner: &(dyn StdError + 'static) = inner;
            next = Some(inner);
        } else {
            next = e.source();
        }
    }
}

/// Certificate verifier for `insecure_skip_verify`: any chain and name are accepted, but the
/// handshake signatures are still verified so the session keys belong to the presented cert.
#[derive(Debug)]
struct AcceptAnyCert {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_series_budget_covers_every_failure_and_retry_reason() {
        let retry_reasons = 2;
        assert!(
            (FailureReason::ALL.len() + retry_reasons) as u64
                <= crate::plan::MAX_FAILURE_REASON_SERIES
        );
    }

    #[test]
    fn labels_are_the_design_reason_set() {
        let labels: Vec<_> = FailureReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            labels,
            [
                "status",
                "timeout",
                "connect",
                "reset",
                "tls",
                "protocol",
                "body_too_large",
                "check",
                "interrupted",
                "template",
                "not_allowed"
            ]
        );
    }

    #[test]
    fn rustls_error_inside_io_error_is_tls() {
        let inner = io::Error::new(io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        let outer = io::Error::other(inner);
        assert_eq!(classify(&outer), FailureReason::Tls);
    }

    #[test]
    fn reset_io_error_is_reset() {
        let e = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(classify(&e), FailureReason::Reset);
    }

    #[test]
    fn insecure_client_builds() {
        let opts = ClientOptions {
            insecure_skip_verify: true,
            ..ClientOptions::default()
        };
        assert!(HttpClient::new(&opts).is_ok());
    }
}
