//! The proxy's upstream over https: a CA and a server certificate for localhost/127.0.0.1 are made at test
//! time (rcgen), a small TLS terminator (tokio-rustls) serves them in front of the shared dynoxide, and the
//! proxy, still plain http on loopback for its clients, verifies the upstream against that CA. No traffic
//! leaves loopback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use dynamo_backends::{Backend, BackendKind, TableSpec, provision_table, shared_backend};
use dynamo_wire::WireProxy;
use dynamo_wire::proxy::UpstreamTls;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// A test CA (its PEM in a file) and a TLS terminator for localhost in front of `upstream`.
struct TlsFront {
    addr: SocketAddr,
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

async fn tls_front(upstream: &str) -> TlsFront {
    let upstream: SocketAddr = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("the backend listens on an IP address");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "dynamo-harness test CA");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();

    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![server.der().clone()], key)
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A failed handshake (the proxy refusing our certificate) just ends this connection.
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let Ok(mut plain) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    TlsFront {
        addr,
        ca_file,
        _dir: dir,
    }
}

async fn backend() -> Arc<dyn Backend> {
    shared_backend(BackendKind::Dynoxide)
        .await
        .expect("dynoxide starts")
}

fn client_through(backend: &dyn Backend, proxy: &WireProxy) -> Client {
    let config = aws_sdk_dynamodb::config::Builder::from(&backend.sdk_config())
        .endpoint_url(proxy.endpoint_url())
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

#[tokio::test]
async fn an_https_upstream_verified_with_a_ca_file_works() {
    let backend = backend().await;
    let direct = Client::new(&backend.sdk_config());
    provision_table(&direct, backend.capabilities(), &TableSpec::named("tls_ok"))
        .await
        .unwrap();
    let front = tls_front(backend.endpoint_url()).await;
    for host in ["localhost", "127.0.0.1"] {
        let upstream = format!("https://{host}:{}", front.addr.port());
        let tls = UpstreamTls {
            ca_file: Some(front.ca_file.clone()),
            // Only the test CA: a system root must not be what makes this pass.
            no_system_roots: true,
        };
        let proxy = WireProxy::start_with_tls(&upstream, &tls).await.unwrap();
        assert!(proxy.endpoint_url().starts_with("http://127.0.0.1:"));
        let client = client_through(backend.as_ref(), &proxy);
        client
            .put_item()
            .table_name("tls_ok")
            .item("id", AttributeValue::S(format!("CAKEPHP_{host}")))
            .item("data", AttributeValue::S("over TLS".to_owned()))
            .send()
            .await
            .unwrap();
        let item = client
            .get_item()
            .table_name("tls_ok")
            .key("id", AttributeValue::S(format!("CAKEPHP_{host}")))
            .send()
            .await
            .unwrap()
            .item
            .expect("the item is there");
        assert_eq!(item["data"].as_s().unwrap(), "over TLS");
        let records = proxy.take_records();
        let ops: Vec<(&str, u16)> = records.iter().map(|r| (r.op.as_str(), r.status)).collect();
        assert_eq!(ops, [("PutItem", 200), ("GetItem", 200)], "{host}");
    }
}

#[tokio::test]
async fn an_untrusted_upstream_certificate_is_a_502_that_says_why() {
    let backend = backend().await;
    let front = tls_front(backend.endpoint_url()).await;
    let upstream = format!("https://localhost:{}", front.addr.port());
    // The system's roots only: the test CA is not among them.
    let proxy = WireProxy::start_with_tls(&upstream, &UpstreamTls::default())
        .await
        .unwrap();
    let client = client_through(backend.as_ref(), &proxy);
    let error = client
        .get_item()
        .table_name("tls_ok")
        .key("id", AttributeValue::S("CAKEPHP_x".to_owned()))
        .send()
        .await
        .expect_err("the proxy must not trust the test CA");
    let records = proxy.take_records();
    assert_eq!(records.len(), 1, "{error:?}");
    assert_eq!(records[0].status, 502);
    let message = records[0].response["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("certificate") || message.contains("UnknownIssuer"),
        "{message}"
    );
}

#[tokio::test]
async fn a_bad_ca_file_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let error =
        WireProxy::start_with_tls("https://localhost:1", &UpstreamTls::with_ca_file(&missing))
            .await
            .unwrap_err()
            .to_string();
    assert!(error.contains("missing.pem"), "{error}");
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let error =
        WireProxy::start_with_tls("https://localhost:1", &UpstreamTls::with_ca_file(&not_pem))
            .await
            .unwrap_err()
            .to_string();
    assert!(error.contains("no certificate"), "{error}");
    // A plain upstream needs no CA at all.
    WireProxy::start_with_tls("http://127.0.0.1:1", &UpstreamTls::with_ca_file(&missing))
        .await
        .expect("http upstreams ignore the CA file");
}
