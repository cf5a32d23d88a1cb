//! A VU's own connection (`send_sticky`): reused across requests, rebuilt when the server closes
//! it, and failing with the same reasons as the pooled client.

use bytes::Bytes;
use http_body_util::Full;
use soakd::client::{ClientOptions, FailureReason, HttpClient, Sticky, http};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

fn get(url: &str) -> http::Request<Full<Bytes>> {
    http::Request::get(url)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// A GET of `url` on the VU's connection, as the action layer sends it (rebuildable once).
async fn get_status(
    client: &HttpClient,
    slot: &mut Sticky,
    url: &str,
    timeout: Duration,
) -> Result<u16, FailureReason> {
    client
        .send_sticky(slot, get(url), timeout, || Some(get(url)))
        .await
        .map(|r| r.status)
}

/// A server that answers one request per connection, then closes it. With `read_next`, it
/// first reads the connection's next request and hangs up without a byte: the keep-alive race
/// (the server's idle timeout against our reuse), made deterministic.
fn one_answer_per_connection(
    read_next: bool,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/x", l.local_addr().unwrap());
    let conns = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = conns.clone();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten().take(50) {
            c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
            if read_next {
                let _ = s.read(&mut buf);
            }
        }
    });
    (url, conns)
}

#[tokio::test]
async fn one_connection_serves_every_request_of_a_vu() {
    let target = testbed::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = HttpClient::new(&ClientOptions::default()).unwrap();
    let mut slot = Sticky::default();
    for _ in 0..20 {
        let url = format!("{}/ok", target.url());
        let r = get_status(&client, &mut slot, &url, Duration::from_secs(2)).await;
        assert_eq!(r, Ok(200));
    }
    assert_eq!(target.stats().requests_total, 20);
}

#[tokio::test]
async fn a_connection_closed_by_the_server_is_replaced() {
    let (url, conns) = one_answer_per_connection(false);
    let client = HttpClient::new(&ClientOptions::default()).unwrap();
    let mut slot = Sticky::default();
    for i in 0..5 {
        let r = get_status(&client, &mut slot, &url, Duration::from_secs(2)).await;
        assert_eq!(r, Ok(200), "request {i}");
    }
    assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 5);
}

#[tokio::test]
async fn a_get_lost_to_a_closing_connection_is_sent_again_but_a_post_is_not() {
    let (url, conns) = one_answer_per_connection(true);
    let client = HttpClient::new(&ClientOptions::default()).unwrap();
    let mut slot = Sticky::default();
    let first = get_status(&client, &mut slot, &url, Duration::from_secs(2)).await;
    assert_eq!(first, Ok(200));
    let again = get_status(&client, &mut slot, &url, Duration::from_secs(2)).await;
    assert_eq!(again, Ok(200), "a GET is retried on a fresh connection");
    assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 2);

    let post = || {
        http::Request::post(&url)
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap()
    };
    let lost = client
        .send_sticky(&mut slot, post(), Duration::from_secs(2), || Some(post()))
        .await;
    assert_eq!(
        lost.err(),
        Some(FailureReason::Reset),
        "a POST may have been processed: never sent twice"
    );
    assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn failures_are_classified_like_the_pool() {
    let client = HttpClient::new(&ClientOptions::default()).unwrap();
    let mut slot = Sticky::default();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = get_status(
        &client,
        &mut slot,
        &format!("http://127.0.0.1:{port}/"),
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(refused.err(), Some(FailureReason::Connect));
    let target = testbed::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let slow = get_status(
        &client,
        &mut slot,
        &format!("{}/delay/500", target.url()),
        Duration::from_millis(100),
    )
    .await;
    assert_eq!(slow.err(), Some(FailureReason::Timeout));
    let after = get_status(
        &client,
        &mut slot,
        &format!("{}/ok", target.url()),
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(after, Ok(200), "a fresh connection after the timeout");
}

/// A static request is encoded once per run (`HttpClient::fixed`) and sent as those bytes: it
/// keeps the per-send path's rules (a GET re-sent after a closing connection, a POST never, a
/// timeout that drops the connection).
#[tokio::test]
async fn a_request_encoded_once_keeps_the_rules_of_one_built_per_send() {
    let (url, conns) = one_answer_per_connection(true);
    let client = HttpClient::new(&ClientOptions::default()).unwrap();
    let mut slot = Sticky::default();
    let fixed_get = client
        .fixed(&get(&url))
        .expect("a plain GET is encoded once");
    let deadline = || std::time::Instant::now() + Duration::from_secs(2);
    for i in 0..2 {
        let (r, retried) = client
            .send_sticky_fixed(&mut slot, &fixed_get, deadline(), true, None)
            .await;
        assert_eq!(r.map(|r| r.status), Ok(200), "request {i}");
        assert_eq!(retried, (i == 1).then_some("reset"), "request {i}");
    }
    assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 2);
    let post = http::Request::post(&url)
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    let fixed_post = client
        .fixed(&post)
        .expect("a POST with a body is encoded once");
    let (lost, retried) = client
        .send_sticky_fixed(&mut slot, &fixed_post, deadline(), true, None)
        .await;
    assert_eq!(lost.err(), Some(FailureReason::Reset), "never sent twice");
    assert_eq!(retried, None);

    let target = testbed::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let slow = client
        .fixed(&get(&format!("{}/delay/500", target.url())))
        .unwrap();
    let soon = std::time::Instant::now() + Duration::from_millis(100);
    let (r, _) = client
        .send_sticky_fixed(&mut slot, &slow, soon, true, None)
        .await;
    assert_eq!(r.err(), Some(FailureReason::Timeout));
    let ok = client.fixed(&get(&format!("{}/ok", target.url()))).unwrap();
    let (r, _) = client
        .send_sticky_fixed(&mut slot, &ok, deadline(), true, None)
        .await;
    assert_eq!(
        r.map(|r| r.status),
        Ok(200),
        "a fresh connection after the timeout"
    );
}

/// The VU's timer is left at an earlier send's deadline and moved on only when it fires: a
/// send that outlives the previous send's deadline still ends by its own, not by the old one.
#[tokio::test]
async fn a_send_is_cut_by_its_own_deadline_not_by_an_earlier_sends() {
    let client = HttpClient::new(&ClientOptions::default()).unwrap();
    let mut slot = Sticky::default();
    let target = testbed::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let ok = client.fixed(&get(&format!("{}/ok", target.url()))).unwrap();
    let slow = client
        .fixed(&get(&format!("{}/delay/300", target.url())))
        .unwrap();
    let in_ms = |ms| std::time::Instant::now() + Duration::from_millis(ms);
    // Arms the timer 100 ms out; the response comes well before.
    let (first, _) = client
        .send_sticky_fixed(&mut slot, &ok, in_ms(100), true, None)
        .await;
    assert_eq!(first.map(|r| r.status), Ok(200));
    // Outlives the first deadline, within its own.
    let (r, _) = client
        .send_sticky_fixed(&mut slot, &slow, in_ms(5_000), true, None)
        .await;
    assert_eq!(
        r.map(|r| r.status),
        Ok(200),
        "not cut at the first deadline"
    );
    // And an earlier deadline than the timer's still cuts.
    let (r, _) = client
        .send_sticky_fixed(&mut slot, &slow, in_ms(50), true, None)
        .await;
    assert_eq!(r.err(), Some(FailureReason::Timeout));
}

/// What the server reads is the same bytes either way, a sampled `traceparent` included.
#[tokio::test]
async fn a_request_encoded_once_puts_the_same_bytes_on_the_wire() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/orders?x=1", l.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten().take(2) {
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            tx.send(buf[..n].to_vec()).unwrap();
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    let post = || {
        http::Request::post(&url)
            .header("content-type", "application/json")
            .header("x-team", "qa")
            .body(Full::new(Bytes::from_static(b"{\"n\":1}")))
            .unwrap()
    };
    let client = HttpClient::new(&ClientOptions::default()).unwrap();
    let trace = || {
        Some(soakd::client::TraceParent::new(
            soakd::client::TraceId([7; 16]),
            [9; 8],
        ))
    };
    let deadline = || std::time::Instant::now() + Duration::from_secs(2);
    let mut slot = Sticky::default();
    let (built, _) = client
        .send_sticky_counted(&mut slot, post(), deadline(), true, trace(), || None)
        .await;
    assert_eq!(built.map(|r| r.status), Ok(200));
    let fixed = client.fixed(&post()).unwrap();
    let (once, _) = client
        .send_sticky_fixed(&mut slot, &fixed, deadline(), true, trace())
        .await;
    assert_eq!(once.map(|r| r.status), Ok(200));
    let (a, b) = (rx.recv().unwrap(), rx.recv().unwrap());
    let text = String::from_utf8_lossy(&a);
    assert!(text.contains("traceparent: 00-07070707"), "{text}");
    assert_eq!(text, String::from_utf8_lossy(&b));
}
