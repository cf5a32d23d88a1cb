//! HTTP/2 GOAWAY: a server that answers the connection preface with GOAWAY (PROTOCOL_ERROR)
//! makes the request fail with a classified reason, promptly, and the client stays usable.

use bytes::Bytes;
use http_body_util::Full;
use soakd::client::{ClientOptions, FailureReason, HttpClient, http};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// Raw h2 frames: an empty SETTINGS, then GOAWAY(last stream 0, PROTOCOL_ERROR).
const SETTINGS: [u8; 9] = [0, 0, 0, 0x4, 0, 0, 0, 0, 0];
const GOAWAY: [u8; 17] = [0, 0, 8, 0x7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

fn goaway_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten().take(4) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf); // the client preface and its SETTINGS
            let _ = s.write_all(&SETTINGS);
            let _ = s.write_all(&GOAWAY);
            let _ = s.read(&mut buf); // let the client see the frames before the close
        }
    });
    port
}

#[tokio::test]
async fn a_goaway_before_any_stream_is_a_protocol_failure() {
    let port = goaway_server();
    let client = HttpClient::new(&ClientOptions {
        h2c: true,
        ..ClientOptions::default()
    })
    .unwrap();
    let t0 = Instant::now();
    let req = http::Request::get(format!("http://127.0.0.1:{port}/"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let outcome = client
        .send(req, Duration::from_secs(5))
        .await
        .map(|r| r.status);
    assert_eq!(outcome, Err(FailureReason::Protocol));
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "fails promptly, not by timeout"
    );
    // The client is still usable against a healthy h2c server afterwards.
    let target = testbed::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let ok = http::Request::get(format!("{}/ok", target.url()))
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(
        client
            .send(ok, Duration::from_secs(5))
            .await
            .map(|r| r.status),
        Ok(200)
    );
}
