//! PLACEHOLDER until the real client lands (same API).
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
pub use hyper::http;
use std::time::Duration;
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureReason {
    Status,
    Timeout,
    Connect,
    Reset,
    Tls,
    Protocol,
    BodyTooLarge,
    Check,
}
impl FailureReason {
    pub const ALL: [FailureReason; 8] = [
        Self::Status,
        Self::Timeout,
        Self::Connect,
        Self::Reset,
        Self::Tls,
        Self::Protocol,
        Self::BodyTooLarge,
        Self::Check,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Reset => "reset",
            Self::Tls => "tls",
            Self::Protocol => "protocol",
            Self::BodyTooLarge => "body_too_large",
            Self::Check => "check",
        }
    }
}
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub pool_max_idle_per_host: usize,
    pub connect_timeout: Duration,
    pub insecure_skip_verify: bool,
    pub h2c: bool,
    pub max_body_bytes: usize,
}
impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            pool_max_idle_per_host: 64,
            connect_timeout: Duration::from_secs(5),
            insecure_skip_verify: false,
            h2c: false,
            max_body_bytes: 10 << 20,
        }
    }
}
#[derive(Clone)]
pub struct HttpClient {
    inner: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Full<Bytes>,
    >,
}
pub struct Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}
#[derive(Debug, thiserror::Error)]
#[error("client")]
pub struct ClientError;
impl HttpClient {
    pub fn new(opts: &ClientOptions) -> Result<Self, ClientError> {
        let inner =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .pool_max_idle_per_host(opts.pool_max_idle_per_host)
                .build_http();
        Ok(Self { inner })
    }
    pub async fn send(
        &self,
        req: http::Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<Response, FailureReason> {
        let fut = async {
            let resp = self
                .inner
                .request(req)
                .await
                .map_err(|_| FailureReason::Connect)?;
            let (parts, body) = resp.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|_| FailureReason::Reset)?
                .to_bytes();
            Ok(Response {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(timeout, fut)
            .await
            .unwrap_or(Err(FailureReason::Timeout))
    }
}
