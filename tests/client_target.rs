//! The HTTP client against the in-process calibration target, over loopback only.
//!
//! These pin the failure classification the engine and metrics rely on (DESIGN §5 `reason`)
//! with real sockets: each fault the target can inject must come back as the right reason.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use soakd::client::{ClientOptions, FailureReason, HttpClient, Response, http};
use testbed::{FaultConfig, Latency, TargetHandle};

const TIMEOUT: Duration = Duration::from_secs(5);

async fn start() -> TargetHandle {
    let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
    testbed::spawn(listen).await.expect("target starts")
}

fn client() -> HttpClient {
    HttpClient::new(&ClientOptions::default()).expect("client builds")
}

fn get(url: &str) -> http::Request<Full<Bytes>> {
    http::Request::get(url).body(Full::default()).unwrap()
}

fn post(url: &str, content_type: &str, body: impl Into<Bytes>) -> http::Request<Full<Bytes>> {
    http::Request::post(url)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Full::new(body.into()))
        .unwrap()
}

async fn send_ok(c: &HttpClient, req: http::Request<Full<Bytes>>) -> Response {
    c.send(req, TIMEOUT).await.expect("request succeeds")
}

#[tokio::test]
async fn ok_route_answers_200_with_body() {
    let t = start().await;
    let c = client();
    let resp = send_ok(&c, get(&format!("{}/ok", t.url()))).await;
    assert_eq!(resp.status, 200);
    assert_eq!(&resp.body[..], b"ok");
    assert_eq!(t.stats().ok, 1);
}

#[tokio::test]
async fn error_status_is_a_response_not_a_failure() {
    let t = start().await;
    let resp = send_ok(&client(), get(&format!("{}/status/503", t.url()))).await;
    assert_eq!(resp.status, 503);
    assert_eq!(t.stats().status_5xx, 1);
}

#[tokio::test]
async fn out_of_range_status_route_is_bad_request() {
    let t = start().await;
    let resp = send_ok(&client(), get(&format!("{}/status/700", t.url()))).await;
    assert_eq!(resp.status, 400);
}

#[tokio::test]
async fn unknown_route_is_404_json() {
    let t = start().await;
    let resp = send_ok(&client(), get(&format!("{}/nope", t.url()))).await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.headers.get("content-type"), Some("application/json"));
}

#[tokio::test]
async fn echo_round_trips_body_and_content_type() {
    let t = start().await;
    let payload = r#"{"hello":"world"}"#;
    let req = post(
        &format!("{}/echo", t.url()),
        "application/vnd.test+json",
        payload,
    );
    let resp = send_ok(&client(), req).await;
    assert_eq!(resp.status, 200);
    assert_eq!(&resp.body[..], payload.as_bytes());
    assert_eq!(
        resp.headers.get("content-type"),
        Some("application/vnd.test+json")
    );
}

#[tokio::test]
async fn slow_response_past_timeout_is_timeout_and_returns_promptly() {
    let t = start().await;
    let started = Instant::now();
    let err = client()
        .send(
            get(&format!("{}/delay/500", t.url())),
            Duration::from_millis(100),
        )
        .await
        .unwrap_err();
    assert_eq!(err, FailureReason::Timeout);
    assert!(started.elapsed() < Duration::from_millis(400));
}

#[tokio::test]
async fn refused_connection_is_connect() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // listener dropped: nothing listens on `port` any more
    let err = client()
        .send(get(&format!("http://127.0.0.1:{port}/ok")), TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(err, FailureReason::Connect);
}

#[tokio::test]
async fn injected_reset_is_reset() {
    let t = start().await;
    t.faults()
        .set(FaultConfig {
            reset_rate: 1.0,
            ..FaultConfig::default()
        })
        .unwrap();
    let err = client()
        .send(get(&format!("{}/ok", t.url())), TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(err, FailureReason::Reset);
    assert!(t.stats().resets_injected >= 1);
}

#[tokio::test]
async fn body_over_cap_is_body_too_large() {
    let t = start().await;
    let c = HttpClient::new(&ClientOptions {
        max_body_bytes: 1024,
        ..ClientOptions::default()
    })
    .unwrap();
    let req = post(&format!("{}/echo", t.url()), "text/plain", vec![b'x'; 4096]);
    assert_eq!(
        c.send(req, TIMEOUT).await.unwrap_err(),
        FailureReason::BodyTooLarge
    );
    let at_cap = post(&format!("{}/echo", t.url()), "text/plain", vec![b'x'; 1024]);
    assert_eq!(send_ok(&c, at_cap).await.body.len(), 1024);
}

#[tokio::test]
async fn huge_streamed_body_is_cut_off_at_cap() {
    let t = start().await;
    t.faults()
        .set(FaultConfig {
            huge_body_bytes: Some(1 << 30),
            ..FaultConfig::default()
        })
        .unwrap();
    let c = HttpClient::new(&ClientOptions {
        max_body_bytes: 1 << 20,
        ..ClientOptions::default()
    })
    .unwrap();
    let err = c.send(get(&format!("{}/ok", t.url())), TIMEOUT).await;
    assert_eq!(err.unwrap_err(), FailureReason::BodyTooLarge);
}

#[tokio::test]
async fn latency_fault_delays_responses() {
    let t = start().await;
    t.faults()
        .set(FaultConfig {
            latency_ms: Some(Latency::Range([150, 200])),
            ..FaultConfig::default()
        })
        .unwrap();
    let started = Instant::now();
    let resp = send_ok(&client(), get(&format!("{}/ok", t.url()))).await;
    assert_eq!(resp.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn error_rate_one_answers_error_status() {
    let t = start().await;
    t.faults()
        .set(FaultConfig {
            error_rate: 1.0,
            error_status: Some(502),
            ..FaultConfig::default()
        })
        .unwrap();
    let resp = send_ok(&client(), get(&format!("{}/ok", t.url()))).await;
    assert_eq!(resp.status, 502);
    assert_eq!(t.stats().errors_injected, 1);
}

#[tokio::test]
async fn control_endpoint_updates_and_clears_faults() {
    let t = start().await;
    let c = client();
    let url = format!("{}/_control", t.url());
    let resp = send_ok(&c, post(&url, "application/json", r#"{"error_rate":1.0}"#)).await;
    assert_eq!(resp.status, 200);
    assert_eq!(t.faults().get().error_rate, 1.0);
    let resp = send_ok(&c, get(&format!("{}/ok", t.url()))).await;
    assert_eq!(resp.status, 500, "default error_status");
    // Control stays reachable while faults are on.
    let resp = send_ok(&c, post(&url, "application/json", r#"{"error_rate":3}"#)).await;
    assert_eq!(resp.status, 400);
    let del = http::Request::delete(&url).body(Full::default()).unwrap();
    assert_eq!(send_ok(&c, del).await.status, 200);
    assert!(t.faults().get().is_clean());
    let stats = send_ok(&c, get(&format!("{}/_stats", t.url()))).await;
    let stats: serde_json::Value = serde_json::from_slice(&stats.body).unwrap();
    assert_eq!(stats["ok"], 1);
}

/// The cache-purge drill's fault: cached reads pay the fallback while the cache is rebuilt,
/// nothing else does, and `/metrics` counts it.
#[tokio::test]
async fn a_cache_purge_slows_cached_reads_until_the_undo() {
    let t = start().await;
    let c = client();
    let control = format!("{}/_control", t.url());
    let feed = format!("{}/api/communities/1/feed?page_size=5", t.url());
    let timed = |req| {
        let c = &c;
        async move {
            let started = Instant::now();
            let resp = send_ok(c, req).await;
            assert_eq!(resp.status, 200);
            started.elapsed()
        }
    };
    let body = r#"{"cache_purge_ms": 60000, "cache_fallback_ms": 300}"#;
    let resp = send_ok(&c, post(&control, "application/json", body)).await;
    assert_eq!(resp.status, 200);
    assert!(
        timed(get(&feed)).await >= Duration::from_millis(300),
        "a miss"
    );
    assert!(
        timed(get(&format!("{}/ok", t.url()))).await < Duration::from_millis(300),
        "calibration routes never touch the cache"
    );
    let resp = send_ok(
        &c,
        post(&control, "application/json", r#"{"cache_purge_ms": 0}"#),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert!(
        timed(get(&feed)).await < Duration::from_millis(300),
        "rebuilt: a hit"
    );
    let stats = t.stats();
    assert_eq!((stats.cache_purges, stats.cache_misses), (1, 1));
    let metrics = send_ok(&c, get(&format!("{}/metrics", t.url()))).await;
    let text = String::from_utf8_lossy(&metrics.body);
    assert!(text.contains("\ndemo_cache_misses_total 1\n"), "{text}");
    let bad = post(
        &control,
        "application/json",
        r#"{"cache_purge_ms": "soon"}"#,
    );
    assert_eq!(send_ok(&c, bad).await.status, 400);
}

/// Choice: a TLS client talking to a plain-HTTP server is classified `Tls`, not `Protocol`,
/// because the failure happens inside the handshake (rustls rejects the server's plaintext).
#[tokio::test]
async fn https_to_plain_http_server_is_tls() {
    let t = start().await;
    let url = format!("https://{}/ok", t.addr());
    let err = client().send(get(&url), TIMEOUT).await.unwrap_err();
    assert_eq!(err, FailureReason::Tls);
}

#[tokio::test]
async fn h2c_client_is_served_by_the_target() {
    let t = start().await;
    let c = HttpClient::new(&ClientOptions {
        h2c: true,
        ..ClientOptions::default()
    })
    .unwrap();
    let resp = send_ok(&c, get(&format!("{}/ok", t.url()))).await;
    assert_eq!(resp.status, 200);
    assert_eq!(&resp.body[..], b"ok");
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let t = start().await;
    let url = format!("{}/ok", t.url());
    t.shutdown().await;
    let c = client();
    let err = c.send(get(&url), TIMEOUT).await.unwrap_err();
    assert_eq!(err, FailureReason::Connect);
}

#[tokio::test]
async fn stall_fault_past_timeout_is_timeout() {
    let t = start().await;
    t.faults().patch_json(br#"{"stall_ms":2000}"#).unwrap();
    let started = Instant::now();
    let err = client()
        .send(get(&format!("{}/ok", t.url())), Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(err, FailureReason::Timeout);
    assert!(started.elapsed() < Duration::from_millis(1000));
    assert_eq!(t.stats().stalls_injected, 1);
}

/// The reset fault must be a TCP RST on the wire, not a polite FIN.
#[tokio::test]
async fn reset_fault_sends_a_real_tcp_rst() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t = start().await;
    t.faults().patch_json(br#"{"reset_rate":1.0}"#).unwrap();
    let mut s = tokio::net::TcpStream::connect(t.addr()).await.unwrap();
    s.write_all(b"GET /ok HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(TIMEOUT, s.read(&mut buf))
        .await
        .unwrap();
    let err = read.expect_err("a reset, not EOF or data");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
}

/// A one-shot raw TCP server: reads the request head, writes `reply`, then closes (FIN).
async fn raw_server(reply: Vec<u8>) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let Ok((mut s, _)) = l.accept().await else {
            return;
        };
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).await;
        let _ = s.write_all(&reply).await;
        let _ = s.shutdown().await;
    });
    addr
}

#[tokio::test]
async fn garbage_response_is_protocol() {
    let addr = raw_server(b"HELLO THERE\r\n\r\n".to_vec()).await;
    let err = client()
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(err, FailureReason::Protocol);
}

#[tokio::test]
async fn body_cut_short_is_reset() {
    let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten b".to_vec();
    let addr = raw_server(reply).await;
    let err = client()
        .send(get(&format!("http://{addr}/")), TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(err, FailureReason::Reset);
}

#[tokio::test]
async fn chunked_body_without_length_is_capped_while_streaming() {
    let mut reply = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..20 {
        reply.extend_from_slice(b"3e8\r\n");
        reply.extend_from_slice(&[b'z'; 1000]);
        reply.extend_from_slice(b"\r\n");
    }
    reply.extend_from_slice(b"0\r\n\r\n");
    let c = HttpClient::new(&ClientOptions {
        max_body_bytes: 5_000,
        ..ClientOptions::default()
    })
    .unwrap();
    let addr = raw_server(reply.clone()).await;
    let err = c.send(get(&format!("http://{addr}/")), TIMEOUT).await;
    assert_eq!(err.unwrap_err(), FailureReason::BodyTooLarge);
    // The same stream under a larger cap is read whole.
    let big = HttpClient::new(&ClientOptions::default()).unwrap();
    let addr = raw_server(reply).await;
    let resp = send_ok(&big, get(&format!("http://{addr}/"))).await;
    assert_eq!(resp.body.len(), 20_000);
}
