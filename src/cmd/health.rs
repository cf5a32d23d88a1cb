//! `soakd healthcheck` — why this exists: the image's HEALTHCHECK (and any exec probe) needs a
//! way to ask the running daemon "are you serving?" without curl or wget in the image. It sends
//! one `GET /healthz` to the configured `server.listen` (loopback when that address is
//! unspecified, e.g. `0.0.0.0`) and exits 0 on a 200 answer, 1 on anything else: Docker
//! reserves exit 2, so even a bad config is reported as unhealthy (1), never as invalid (2).

use crate::cli;
use crate::cmd::Exit;
use anyhow::{Context, anyhow, bail};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The daemon's default `server.listen` (DESIGN §3).
const DEFAULT_LISTEN: &str = "0.0.0.0:9464";
/// Most of the answer read: the status line is all that matters.
const MAX_ANSWER: u64 = 4096;

pub async fn run(config: &Option<PathBuf>, address: Option<SocketAddr>, timeout: Duration) -> Exit {
    let probe = async {
        let addr = match address {
            Some(a) => a,
            None => configured_address(config)?,
        };
        let status = tokio::time::timeout(timeout, get_healthz(probe_address(addr)))
            .await
            .map_err(|_| anyhow!("GET http://{addr}/healthz: no answer within {timeout:?}"))??;
        if status != 200 {
            bail!("GET http://{addr}/healthz answered {status}");
        }
        println!("ok: http://{addr}/healthz answered 200");
        Ok(())
    };
    match probe.await {
        Ok(()) => Exit::Ok,
        Err(e) => Exit::Error(e),
    }
}

/// `server.listen` of the config file (`--config`, `$SOAKD_CONFIG`, `config/soakd.yaml`).
fn configured_address(flag: &Option<PathBuf>) -> anyhow::Result<SocketAddr> {
    let path = cli::config_path(flag);
    let loaded = soakd::config::load_file(&path).map_err(|e| anyhow!("{e}"))?;
    let listen = loaded
        .raw
        .server
        .listen
        .as_deref()
        .unwrap_or(DEFAULT_LISTEN);
    listen.parse().with_context(|| {
        format!(
            "{}: server.listen: {listen:?} is not an address",
            path.display()
        )
    })
}

/// A daemon listening on every address is reached on loopback.
fn probe_address(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

/// One HTTP/1.0 request (the server closes after answering); returns the status code.
async fn get_healthz(addr: SocketAddr) -> anyhow::Result<u16> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("GET http://{addr}/healthz: connect"))?;
    let request = format!("GET /healthz HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    (&mut stream)
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .await?;
    parse_status(&answer).ok_or_else(|| anyhow!("GET http://{addr}/healthz: not an HTTP answer"))
}

fn parse_status(answer: &[u8]) -> Option<u16> {
    let line = answer.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_whitespace();
    parts.next().filter(|v| v.starts_with("HTTP/"))?;
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_is_parsed_and_garbage_is_not() {
        assert_eq!(parse_status(b"HTTP/1.1 200 OK\r\n\r\nok"), Some(200));
        assert_eq!(
            parse_status(b"HTTP/1.0 503 Service Unavailable\r\n"),
            Some(503)
        );
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status(b""), None);
    }

    #[test]
    fn unspecified_listen_address_is_probed_on_loopback() {
        let any: SocketAddr = "0.0.0.0:9464".parse().unwrap();
        assert_eq!(probe_address(any), "127.0.0.1:9464".parse().unwrap());
        let any6: SocketAddr = "[::]:9464".parse().unwrap();
        assert_eq!(probe_address(any6), "[::1]:9464".parse().unwrap());
        let fixed: SocketAddr = "10.0.0.7:80".parse().unwrap();
        assert_eq!(probe_address(fixed), fixed);
    }
}
