//! The connection against scripted servers on loopback: each test's server answers with exact
//! bytes, so every outcome below is what a real peer on the wire produces.

use super::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

/// A server that answers the `i`-th request of one connection with `replies[i]` (after reading
/// a request head), then closes; returns every request it read.
fn script(replies: Vec<Vec<u8>>) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let h = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut seen = Vec::new();
        for reply in replies {
            let mut req = Vec::new();
            let mut b = [0u8; 1];
            while !req.ends_with(b"\r\n\r\n") {
                if s.read(&mut b).unwrap_or(0) == 0 {
                    return seen;
                }
                req.push(b[0]);
            }
            seen.push(String::from_utf8_lossy(&req).into_owned());
            for piece in reply.chunks(7) {
                let _ = s.write_all(piece);
                let _ = s.flush();
            }
        }
        seen
    });
    (addr, h)
}

async fn conn(addr: &str) -> Conn {
    Conn::new(TcpStream::connect(addr).await.unwrap())
}

fn get(path: &str) -> http::Request<Bytes> {
    http::Request::get(path).body(Bytes::new()).unwrap()
}

fn host() -> HeaderValue {
    HeaderValue::from_static("t")
}

#[tokio::test]
async fn two_requests_share_one_connection() {
    let (addr, server) = script(vec![
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec(),
        b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".to_vec(),
    ]);
    let mut c = conn(&addr).await;
    let a = c
        .exchange(Msg::Built(&get("/a")), &host(), None, 1024)
        .await
        .unwrap();
    assert_eq!((a.response.status, &a.response.body[..]), (200, &b"ok"[..]));
    assert!(a.keep_alive);
    let b = c
        .exchange(Msg::Built(&get("/b")), &host(), None, 1024)
        .await
        .unwrap();
    assert_eq!(
        (b.response.status, &b.response.body[..]),
        (201, &b"abc"[..])
    );
    let seen = server.join().unwrap();
    assert_eq!(
        seen,
        [
            "GET /a HTTP/1.1\r\nhost: t\r\n\r\n",
            "GET /b HTTP/1.1\r\nhost: t\r\n\r\n"
        ]
    );
}

#[tokio::test]
async fn an_interim_response_is_skipped_and_a_close_delimited_body_ends_at_close() {
    let (addr, _server) = script(vec![
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it"
            .to_vec(),
    ]);
    let mut c = conn(&addr).await;
    let r = c
        .exchange(Msg::Built(&get("/")), &host(), None, 1024)
        .await
        .unwrap();
    assert_eq!(&r.response.body[..], b"all of it");
    assert!(!r.keep_alive, "read to close: the connection is done");
}

#[tokio::test]
async fn a_connection_closed_before_any_response_byte_is_told_apart_from_a_cut_response() {
    // The server reads the request and closes: the reused-connection race.
    let (addr, _server) = script(vec![]);
    let mut c = conn(&addr).await;
    let e = c
        .exchange(Msg::Built(&get("/")), &host(), None, 1024)
        .await
        .err();
    assert!(
        matches!(e, Some(Error::NoResponse | Error::NotSent)),
        "{e:?}"
    );

    let (addr, _server) = script(vec![
        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf".to_vec(),
    ]);
    let mut c = conn(&addr).await;
    let e = c
        .exchange(Msg::Built(&get("/")), &host(), None, 1024)
        .await
        .err();
    assert!(
        matches!(e, Some(Error::Failed(FailureReason::Reset))),
        "{e:?}"
    );
}

#[tokio::test]
async fn bodies_over_the_cap_fail_whatever_their_framing() {
    let replies = [
        &b"HTTP/1.1 200 OK\r\ncontent-length: 100000000\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n800\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n0123456789abcdef0123456789abcdef",
    ];
    for reply in replies {
        let (addr, _server) = script(vec![reply.to_vec()]);
        let mut c = conn(&addr).await;
        let e = c
            .exchange(Msg::Built(&get("/")), &host(), None, 16)
            .await
            .err();
        assert!(
            matches!(e, Some(Error::Failed(FailureReason::BodyTooLarge))),
            "{:?}: {e:?}",
            String::from_utf8_lossy(reply)
        );
    }
}

#[tokio::test]
async fn garbage_is_a_protocol_failure() {
    let (addr, _server) = script(vec![b"HELLO I AM NOT HTTP\r\n\r\n".to_vec()]);
    let mut c = conn(&addr).await;
    let e = c
        .exchange(Msg::Built(&get("/")), &host(), None, 1024)
        .await
        .err();
    assert!(
        matches!(e, Some(Error::Failed(FailureReason::Protocol))),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_connection_the_server_closed_while_idle_is_not_reused() {
    let (addr, server) = script(vec![b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()]);
    let mut c = conn(&addr).await;
    let r = c
        .exchange(Msg::Built(&get("/")), &host(), None, 1024)
        .await
        .unwrap();
    assert!(r.keep_alive);
    server.join().unwrap(); // the server has closed its end
    // The FIN reaches the client's runtime within a few ms on loopback (bounded wait).
    let mut open = true;
    for _ in 0..200 {
        open = c.looks_open();
        if !open {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(!open, "the close is seen before a request is written");
}
