//! The demo / calibration target: a real HTTP server with fault injection.
//!
//! soakd needs something to shoot at whose behaviour is known exactly: its own tests, `soakd
//! demo`, and users calibrating the generator (DESIGN §8). The target speaks HTTP/1.1 and h2c
//! through hyper directly, so it can turn a "reset" fault into a real TCP RST (SO_LINGER 0,
//! then close) and stay fast enough on `/ok` to benchmark the load generator itself.

mod api;
mod arrivals;
mod body;
mod cache;
mod community;
mod demo;
mod faults;
mod meetings;
mod portal;
mod routes;
mod rsvp;
mod sut;
mod trace;
mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

pub use demo::DemoStats;
pub use faults::{FaultConfig, FaultError, Faults, Latency, MAX_DELAY_MS};
pub use routes::{MAX_ECHO_BYTES, TargetStats};

use routes::{ConnCtl, Shared};

/// A running target; stops when shut down or dropped.
#[derive(Debug)]
pub struct TargetHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl TargetHandle {
    /// The bound address (the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL, e.g. `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// In-process fault control (same effect as `POST /_control`).
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Sets the secret `POST /webhooks/stripe` verifies signatures with (same as
    /// `POST /_control {"webhook_secret": …}`); None clears it.
    pub fn set_webhook_secret(&self, secret: Option<String>) {
        self.shared.api.set_webhook_secret(secret);
    }

    /// Logs the arrival time of each of the next requests, keeping the last `capacity` (0 stops).
    pub fn record_arrivals(&self, capacity: usize) {
        self.shared.arrivals.enable(capacity);
    }

    /// Arrival times logged since `record_arrivals`, oldest first.
    pub fn arrivals(&self) -> Vec<std::time::Instant> {
        self.shared.arrivals.snapshot()
    }

    /// Counters since start (same as `GET /_stats`).
    pub fn stats(&self) -> TargetStats {
        self.shared.stats()
    }

    /// Stops accepting and closes every open connection.
    pub async fn shutdown(mut self) {
        self.shared.chat.shutdown.cancel();
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for TargetHandle {
    fn drop(&mut self) {
        self.shared.chat.shutdown.cancel();
        self.task.abort();
    }
}

/// Start in-process (tests use "127.0.0.1:0").
pub async fn spawn(listen: SocketAddr) -> std::io::Result<TargetHandle> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared::default());
    let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
    Ok(TargetHandle { addr, shared, task })
}

/// `soakd target --listen ADDR`: serve until ctrl-c / SIGTERM.
pub async fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let handle = spawn(listen)
        .await
        .with_context(|| format!("binding the target to {listen}"))?;
    tracing::info!(url = %handle.url(), "calibration target listening");
    shutdown_signal().await?;
    tracing::info!("calibration target shutting down");
    handle.shutdown().await;
    Ok(())
}

async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("waiting for ctrl-c")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("waiting for ctrl-c")?;
    Ok(())
}

/// Accepts until aborted; connection tasks live in a `JoinSet`, so aborting this task closes
/// every connection too.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    conns.spawn(serve_conn(stream, Arc::clone(&shared), Arc::clone(&builder)));
                }
                Err(e) => {
                    // Typically EMFILE under overload: back off instead of spinning.
                    tracing::warn!(error = %e, "target accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn serve_conn(
    stream: TcpStream,
    shared: Arc<Shared>,
    builder: Arc<auto::Builder<TokioExecutor>>,
) {
    let _ = stream.set_nodelay(true);
    // A second handle on the same socket, used only to arm SO_LINGER 0 for an injected reset
    // once hyper owns the stream. Closing both descriptors then sends the RST.
    let rst_handle = socket2::SockRef::from(&stream).try_clone().ok();
    let ctl = Arc::new(ConnCtl::default());
    let svc_ctl = Arc::clone(&ctl);
    let svc = service_fn(move |req| routes::handle(Arc::clone(&shared), Arc::clone(&svc_ctl), req));
    // With upgrades: `/ws/chat` takes the connection over after its 101 answer.
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc);
    tokio::select! {
        _ = conn => {}
        _ = ctl.reset.notified() => {
            if let Some(sock) = &rst_handle {
                let _ = sock.set_linger(Some(Duration::ZERO));
            }
        }
    }
    // `conn` (and its descriptor) is gone; dropping `rst_handle` closes the socket for good.
    drop(rst_handle);
}
