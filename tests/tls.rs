//! TLS faults: a certificate for another host, an expired one and an untrusted self-signed one
//! are all `tls` failures; `insecure_skip_verify` (staging with self-signed certificates) accepts
//! them and the request succeeds.

use bytes::Bytes;
use http_body_util::Full;
use rcgen::{CertificateParams, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use soakd::client::{ClientOptions, FailureReason, HttpClient, http};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A TLS server on 127.0.0.1 presenting a certificate for `host`, expired when asked.
async fn tls_server(host: &str, expired: bool) -> u16 {
    let mut params = CertificateParams::new(vec![host.to_string()]).unwrap();
    if expired {
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(2001, 1, 1);
    }
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let _ = tls
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

async fn get(insecure: bool, port: u16) -> Result<u16, FailureReason> {
    let opts = ClientOptions {
        insecure_skip_verify: insecure,
        ..ClientOptions::default()
    };
    let client = HttpClient::new(&opts).unwrap();
    let req = http::Request::get(format!("https://localhost:{port}/"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    client
        .send(req, Duration::from_secs(5))
        .await
        .map(|r| r.status)
}

#[tokio::test]
async fn bad_certificates_are_tls_failures_unless_verification_is_skipped() {
    let wrong_host = tls_server("staging.example.com", false).await;
    let expired = tls_server("localhost", true).await;
    let self_signed = tls_server("localhost", false).await;
    for (what, port) in [
        ("wrong host", wrong_host),
        ("expired", expired),
        ("untrusted", self_signed),
    ] {
        assert_eq!(get(false, port).await, Err(FailureReason::Tls), "{what}");
        assert_eq!(
            get(true, port).await,
            Ok(200),
            "{what} with insecure_skip_verify"
        );
    }
}
