//! The daemon's HTTP listener: /metrics, health, and the JSON API of DESIGN §6.
//!
//! Read routes are open; write routes need `Authorization: Bearer <admin token>` (compared in
//! constant time): 401 when missing or wrong, 403 when no token is configured. Every error is
//! JSON `{ "error": "..." }`.

mod api;
mod handle;
mod status;

pub use handle::{Daemon, DaemonControl, DaemonView, Handle, HoldView};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::net::SocketAddr;

pub fn router(app: Handle) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(api::ready))
        .route("/metrics", get(metrics))
        .route("/api/v1/scenarios", get(api::scenarios))
        .route("/api/v1/scenarios/{name}/runs", post(api::start_run))
        .route("/api/v1/scenarios/{name}/pause", post(api::pause))
        .route("/api/v1/scenarios/{name}/resume", post(api::resume))
        .route("/api/v1/pause_all", post(api::pause_all))
        .route("/api/v1/resume_all", post(api::resume_all))
        .route("/api/v1/runs", get(api::runs))
        .route("/api/v1/runs/{id}", get(api::run).delete(api::abort_run))
        .route("/api/v1/runs/{id}/report.html", get(status::report))
        .route("/", get(status::page))
        .route("/api/v1/reload", post(api::reload))
        .fallback(|| async { api::error(StatusCode::NOT_FOUND, "no such route") })
        .with_state(app)
}

/// Encoding a large registry takes milliseconds of CPU: done on a blocking thread, it never
/// stalls the runtime that paces the load (open models would count it as generator lag).
/// The format follows `Accept` as Prometheus negotiates it (`?format=` overrides it), and the
/// body is gzipped when `Accept-Encoding` allows gzip.
async fn metrics(
    axum::extract::State(app): axum::extract::State<Handle>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    use crate::telemetry::Format;
    let text = |h| headers.get(h).and_then(|v| v.to_str().ok());
    let format =
        Format::from_query(uri.query()).unwrap_or_else(|| Format::negotiate(text(header::ACCEPT)));
    let gzip = text(header::ACCEPT_ENCODING).is_some_and(accepts_gzip);
    let Ok(Ok(body)) = tokio::task::spawn_blocking(move || {
        let body = app.metrics().expose(format);
        if gzip { gzipped(&body) } else { Ok(body) }
    })
    .await
    else {
        return api::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "encoding /metrics failed",
        );
    };
    let mut response = ([(header::CONTENT_TYPE, format.content_type())], body).into_response();
    if gzip {
        response.headers_mut().insert(
            header::CONTENT_ENCODING,
            axum::http::HeaderValue::from_static("gzip"),
        );
    }
    response
}

/// `gzip` listed in `Accept-Encoding` without `q=0`.
fn accepts_gzip(accept_encoding: &str) -> bool {
    accept_encoding.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        parts.next().is_some_and(|c| c.eq_ignore_ascii_case("gzip"))
            && !parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f64>().ok())
                    .is_some_and(|q| q <= 0.0)
            })
    })
}

fn gzipped(body: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(body)?;
    e.finish()
}

/// Binds `addr` and serves until the app shuts down; returns the bound address via `bound`.
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

/// How long a client may take to send a request's headers: an idle, half-sent request is cut
/// (slowloris), instead of holding a connection and a task forever.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves until the app shuts down, then lets open requests finish. hyper's own connection
/// builder (what `axum::serve` uses inside) with a header read timeout, which `axum::serve`
/// does not expose.
pub async fn serve(listener: tokio::net::TcpListener, app: Handle) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let stop = app.shutdown();
    let router = router(app);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                tracing::trace!(%peer, "API connection accepted");
                let svc = hyper_util::service::TowerToHyperService::new(router.clone());
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let mut b = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    b.http1()
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEADER_READ_TIMEOUT);
                    let conn = b.serve_connection_with_upgrades(TokioIo::new(stream), svc);
                    let _ = watcher.watch(conn).await;
                });
            }
            _ = stop.cancelled() => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
