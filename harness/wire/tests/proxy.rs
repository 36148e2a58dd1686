//! The proxy against a real backend (dynoxide, shared by the tests of this binary; one table per test).
//!
//! No test sleeps to synchronise: the proxy stores a call's record before it releases the response, so a
//! record is there as soon as the client call has returned.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, AttributeValueUpdate, PutRequest, WriteRequest};
use bytes::Bytes;
use dynamo_backends::{Backend, BackendKind, TableSpec, provision_table, shared_backend};
use dynamo_wire::{
    BodyNote, FaultAction, FaultRule, NormaliseOptions, WireProxy, WireRecord, format_trace,
    normalise,
};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The shared dynalite, a fresh table on it and a proxy in front of it.
struct Fixture {
    backend: Arc<dyn Backend>,
    proxy: WireProxy,
    table: String,
}

async fn fixture(table: &str) -> Fixture {
    let backend = shared_backend(BackendKind::Dynoxide)
        .await
        .expect("dynalite starts (npm provisioning on first use)");
    let direct = Client::new(&backend.sdk_config());
    provision_table(&direct, backend.capabilities(), &TableSpec::named(table))
        .await
        .expect("table provisioned");
    let proxy = WireProxy::start(backend.endpoint_url())
        .await
        .expect("proxy starts");
    Fixture {
        backend,
        proxy,
        table: table.to_owned(),
    }
}

impl Fixture {
    /// An SDK client through the proxy, retrying up to `attempts` times with ~no backoff.
    fn client(&self, attempts: u32) -> Client {
        let config = aws_sdk_dynamodb::config::Builder::from(&self.backend.sdk_config())
            .endpoint_url(self.proxy.endpoint_url())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(attempts)
                    .with_initial_backoff(Duration::from_millis(1))
                    .with_max_backoff(Duration::from_millis(5)),
            )
            .build();
        Client::from_conf(config)
    }

    fn key(id: &str) -> AttributeValue {
        AttributeValue::S(id.to_owned())
    }

    async fn touch(&self, client: &Client, id: &str, data: &str) {
        client
            .update_item()
            .table_name(&self.table)
            .key("id", Self::key(id))
            .attribute_updates(
                "expires",
                AttributeValueUpdate::builder()
                    .value(AttributeValue::N("1795962067".into()))
                    .build(),
            )
            .attribute_updates(
                "data",
                AttributeValueUpdate::builder()
                    .value(AttributeValue::S(data.into()))
                    .build(),
            )
            .send()
            .await
            .expect("UpdateItem through the proxy");
    }

    /// A raw POST to the proxy with `target` and `body`, on a new connection.
    async fn raw(&self, target: &str, body: &'static [u8]) -> http::Response<Bytes> {
        raw_post(&self.proxy.endpoint_url(), target, body).await
    }
}

async fn raw_post(base: &str, target: &str, body: &'static [u8]) -> http::Response<Bytes> {
    let client = HttpClient::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::post(format!("{base}/"))
        .header("x-amz-target", target)
        .header("content-type", "application/x-amz-json-1.0")
        // dynalite wants a SigV4-shaped Authorization header (it does not check the signature).
        .header("x-amz-date", "20260101T000000Z")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=00",
        )
        .body(Full::new(Bytes::from_static(body)))
        .unwrap();
    let response = client.request(request).await.expect("raw request answered");
    let (parts, body) = response.into_parts();
    http::Response::from_parts(parts, body.collect().await.unwrap().to_bytes())
}

fn crc32_header(response: &http::Response<Bytes>) -> Option<u32> {
    response
        .headers()
        .get("x-amz-crc32")?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

#[tokio::test]
async fn records_each_call_with_step_connection_and_bodies() {
    let fx = fixture("wire_records").await;
    let client = fx.client(1);
    fx.proxy.set_step("write");
    fx.touch(&client, "CAKEPHP_0ps8utkssjigqpc5shh3l3csvo", "a|i:1;")
        .await;
    fx.proxy.set_step("read");
    let got = client
        .get_item()
        .table_name(&fx.table)
        .key("id", Fixture::key("CAKEPHP_0ps8utkssjigqpc5shh3l3csvo"))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.item().unwrap()["data"],
        AttributeValue::S("a|i:1;".into())
    );

    assert_eq!(
        fx.proxy.records().len(),
        2,
        "records() leaves them in place"
    );
    let records = fx.proxy.take_records();
    assert!(fx.proxy.take_records().is_empty(), "take_records drains");
    let [write, read] = &records[..] else {
        panic!("{records:?}")
    };
    assert_eq!((write.i, read.i), (1, 2));
    assert_eq!((write.step.as_str(), read.step.as_str()), ("write", "read"));
    assert_eq!(
        (write.op.as_str(), read.op.as_str()),
        ("UpdateItem", "GetItem")
    );
    assert_eq!(read.target, "DynamoDB_20120810.GetItem");
    // The SDK client pools its connection.
    assert_eq!((write.conn.as_str(), read.conn.as_str()), ("C1", "C1"));
    assert_eq!((write.status, read.status), (200, 200));
    assert_eq!(read.error_type, None);
    assert_eq!(read.injected, None);
    assert_eq!(
        read.request,
        json!({"TableName": "wire_records", "Key": {"id": {"S": "CAKEPHP_0ps8utkssjigqpc5shh3l3csvo"}}, "ConsistentRead": true})
    );
    assert_eq!(read.response["Item"]["data"], json!({"S": "a|i:1;"}));
    assert!(read.latency_ms > 0.0 && read.dt_ms >= write.dt_ms);
    let t = read.t_unix.expect("raw records carry t_unix");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - t).abs() < 60.0, "t_unix {t} is wall-clock seconds");

    let normalised = normalise(&records, &NormaliseOptions::default()).unwrap();
    let text = format_trace(&normalised);
    assert!(
        text.contains(r#""Key": {"id": {"S": "CAKEPHP_<SID1>"}}"#),
        "{text}"
    );
    assert!(!text.contains("t_unix"), "{text}");
}

#[tokio::test]
async fn records_never_contain_credentials() {
    let fx = fixture("wire_credentials").await;
    let (key, secret, token) = (
        "AKIDWIREPROXYTEST0001",
        "wire-proxy-secret-0001",
        "wire-proxy-session-token-0001",
    );
    let config = aws_sdk_dynamodb::config::Builder::from(&fx.backend.sdk_config())
        .endpoint_url(fx.proxy.endpoint_url())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            key,
            secret,
            Some(token.into()),
            None,
            "wire-test",
        ))
        .build();
    let client = Client::from_conf(config);
    fx.touch(&client, "CAKEPHP_abc", "x").await;
    client
        .get_item()
        .table_name(&fx.table)
        .key("id", Fixture::key("CAKEPHP_abc"))
        .send()
        .await
        .unwrap();
    // Also the records of an injected fault and of a failed call.
    fx.proxy
        .set_faults(vec![FaultRule::new(FaultAction::TableMissing).times(1)]);
    let err = client
        .get_item()
        .table_name(&fx.table)
        .key("id", Fixture::key("x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));

    let records = fx.proxy.take_records();
    assert_eq!(records.len(), 3);
    let raw = format_trace(&records);
    for secret_text in [
        key,
        secret,
        token,
        "AWS4-HMAC-SHA256",
        "Signature=",
        "Credential=",
    ] {
        assert!(
            !raw.contains(secret_text),
            "a record contains {secret_text:?}:\n{raw}"
        );
    }
    assert!(!raw.to_ascii_lowercase().contains("authorization"), "{raw}");
}

#[tokio::test]
async fn crc32_and_bodies_pass_through_unchanged() {
    let fx = fixture("wire_crc").await;
    fx.touch(&fx.client(1), "CAKEPHP_crc", "payload").await;
    let body: &'static [u8] = br#"{"TableName":"wire_crc","Key":{"id":{"S":"CAKEPHP_crc"}}}"#;
    let direct = raw_post(fx.backend.endpoint_url(), "DynamoDB_20120810.GetItem", body).await;
    let proxied = fx.raw("DynamoDB_20120810.GetItem", body).await;
    assert_eq!(proxied.status(), 200);
    // The same item either way (dynoxide orders attributes differently from one answer to the next, so the
    // bytes are compared through the checksum the backend computed over them).
    let json = |body: &[u8]| serde_json::from_slice::<serde_json::Value>(body).unwrap();
    assert_eq!(json(proxied.body()), json(direct.body()));
    let crc = crc32_header(&proxied).expect("the backend sends x-amz-crc32 and the proxy keeps it");
    assert_eq!(crc, crc32fast::hash(proxied.body()));
    assert_eq!(crc32_header(&direct), Some(crc32fast::hash(direct.body())));
    assert_eq!(
        proxied.headers()["content-type"],
        direct.headers()["content-type"]
    );

    fx.proxy.set_faults(vec![
        FaultRule::new(FaultAction::BadCrc32).op("GetItem").times(1),
    ]);
    let corrupted = fx.raw("DynamoDB_20120810.GetItem", body).await;
    assert_eq!(
        json(corrupted.body()),
        json(direct.body()),
        "the body is forwarded as is"
    );
    assert_ne!(
        crc32_header(&corrupted),
        Some(crc32fast::hash(corrupted.body()))
    );
    let again = fx.raw("DynamoDB_20120810.GetItem", body).await;
    assert_eq!(
        crc32_header(&again),
        Some(crc32fast::hash(again.body())),
        "times: 1"
    );
    let records = fx.proxy.take_records();
    let injected: Vec<_> = records.iter().map(|r| r.injected.as_deref()).collect();
    assert_eq!(injected, [None, None, Some("bad_crc32"), None]);
    assert_eq!(fx.proxy.fault_hits(), [1]);
}

#[tokio::test]
async fn throttles_are_retried_by_the_sdk_and_recorded() {
    let fx = fixture("wire_throttle").await;
    fx.touch(&fx.client(1), "CAKEPHP_t", "x").await;
    fx.touch(&fx.client(1), "CAKEPHP_other", "y").await;
    fx.proxy.take_records();
    let rules: Vec<FaultRule> = serde_norway::from_str(
        "- {match: {op: GetItem, key: CAKEPHP_t}, action: {throttle: ProvisionedThroughputExceededException}, times: 2}",
    )
    .unwrap();
    fx.proxy.set_faults(rules);
    let client = fx.client(3);
    client
        .get_item()
        .table_name(&fx.table)
        .key("id", Fixture::key("CAKEPHP_other"))
        .send()
        .await
        .unwrap();
    let got = client
        .get_item()
        .table_name(&fx.table)
        .key("id", Fixture::key("CAKEPHP_t"))
        .send()
        .await
        .unwrap();
    assert!(got.item().is_some());

    let records = fx.proxy.take_records();
    let seen: Vec<_> = records
        .iter()
        .map(|r| (r.status, r.error_type.as_deref(), r.injected.as_deref()))
        .collect();
    let throttled = (
        400,
        Some("ProvisionedThroughputExceededException"),
        Some("throttle ProvisionedThroughputExceededException"),
    );
    assert_eq!(
        seen,
        [(200, None, None), throttled, throttled, (200, None, None)]
    );
    assert_eq!(
        records[1].response["__type"],
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
    );
    assert_eq!(
        records[1].request, records[3].request,
        "the retry is the identical call"
    );
    assert_eq!(fx.proxy.fault_hits(), [2]);
}

#[tokio::test]
async fn error_codes_server_errors_and_missing_tables() {
    let fx = fixture("wire_errors").await;
    let client = fx.client(3);
    let get = || {
        client
            .get_item()
            .table_name(&fx.table)
            .key("id", Fixture::key("CAKEPHP_e"))
            .send()
    };

    fx.proxy.set_faults(vec![FaultRule::new(FaultAction::Error {
        code: "AccessDeniedException".into(),
        status: 400,
        message: Some("not for you".into()),
    })]);
    let err = get().await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Some("AccessDeniedException"), Some("not for you"))
    );
    assert_eq!(fx.proxy.take_records().len(), 1, "not retried");

    fx.proxy
        .set_faults(vec![FaultRule::new(FaultAction::TableMissing)]);
    let err = get().await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (
            Some("ResourceNotFoundException"),
            Some("Requested resource not found")
        )
    );
    fx.proxy.take_records();

    fx.proxy
        .set_faults(vec![FaultRule::new(FaultAction::ServerError(500)).times(2)]);
    get()
        .await
        .expect("two 500s, then the third attempt succeeds");
    let statuses: Vec<_> = fx
        .proxy
        .take_records()
        .iter()
        .map(|r| (r.status, r.error_type.clone()))
        .collect();
    let internal = (500, Some("InternalServerError".to_owned()));
    assert_eq!(statuses, [internal.clone(), internal, (200, None)]);

    fx.proxy
        .set_faults(vec![FaultRule::new(FaultAction::ServerError(503))]);
    let err = get().await.unwrap_err();
    assert_eq!(err.code(), Some("ServiceUnavailable"));
    assert_eq!(
        fx.proxy.take_records().len(),
        3,
        "503 is retried up to max_attempts"
    );
    assert_eq!(fx.proxy.fault_hits(), [3]);
}

#[tokio::test]
async fn reset_closes_the_connection_without_a_response() {
    let fx = fixture("wire_reset").await;
    fx.proxy.set_faults(vec![
        FaultRule::new(FaultAction::Reset).op("GetItem").times(1),
    ]);
    let body = r#"{"TableName":"wire_reset","Key":{"id":{"S":"CAKEPHP_r"}}}"#;
    let mut socket = tokio::net::TcpStream::connect(fx.proxy.local_addr())
        .await
        .unwrap();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\n\
         Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n{body}",
        fx.proxy.local_addr(),
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = socket.read_to_end(&mut answer).await;
    assert!(
        answer.is_empty(),
        "no response bytes: {:?}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(
        read.unwrap_err().kind(),
        std::io::ErrorKind::ConnectionReset
    );
    let records = fx.proxy.take_records();
    let [reset] = &records[..] else {
        panic!("{records:?}")
    };
    assert_eq!(
        (reset.status, reset.injected.as_deref()),
        (0, Some("reset"))
    );
    assert_eq!(reset.response, serde_json::Value::Null);

    // The SDK sees a connection error, retries on a new connection, and succeeds.
    fx.proxy.set_faults(vec![
        FaultRule::new(FaultAction::Reset).op("GetItem").times(1),
    ]);
    let client = fx.client(2);
    client
        .get_item()
        .table_name(&fx.table)
        .key("id", Fixture::key("CAKEPHP_r"))
        .send()
        .await
        .unwrap();
    let records = fx.proxy.take_records();
    let conns: Vec<_> = records
        .iter()
        .map(|r| (r.conn.as_str(), r.status))
        .collect();
    assert_eq!(conns, [("C2", 0), ("C3", 200)]);
}

#[tokio::test]
async fn latency_is_added_before_forwarding() {
    let fx = fixture("wire_latency").await;
    let client = fx.client(1);
    let get = || {
        client
            .get_item()
            .table_name(&fx.table)
            .key("id", Fixture::key("CAKEPHP_l"))
            .send()
    };
    get().await.unwrap(); // connection set up outside the measurement
    fx.proxy
        .set_faults(vec![FaultRule::new(FaultAction::LatencyMs(150)).times(1)]);
    let started = Instant::now();
    get().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    let records = fx.proxy.take_records();
    assert_eq!(records[1].injected.as_deref(), Some("latency_ms 150"));
    assert_eq!(records[1].status, 200);
    assert!(
        records[1].latency_ms < 150.0,
        "latency_ms is the upstream time only: {}",
        records[1].latency_ms
    );
}

#[tokio::test]
async fn batch_writes_can_come_back_partly_unprocessed() {
    let fx = fixture("wire_batch").await;
    let client = fx.client(1);
    let put = |id: &str| {
        WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .item("id", Fixture::key(id))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    fx.proxy.set_faults(vec![
        FaultRule::new(FaultAction::Unprocessed(2)).op("BatchWriteItem"),
    ]);
    let out = client
        .batch_write_item()
        .request_items(
            &fx.table,
            ["CAKEPHP_b1", "CAKEPHP_b2", "CAKEPHP_b3", "CAKEPHP_b4"]
                .map(put)
                .to_vec(),
        )
        .send()
        .await
        .unwrap();
    let unprocessed = &out.unprocessed_items().unwrap()[&fx.table];
    let ids: Vec<_> = unprocessed
        .iter()
        .map(|w| {
            w.put_request().unwrap().item()["id"]
                .as_s()
                .unwrap()
                .clone()
        })
        .collect();
    assert_eq!(ids, ["CAKEPHP_b3", "CAKEPHP_b4"]);
    let scan = Client::new(&fx.backend.sdk_config())
        .scan()
        .table_name(&fx.table)
        .send()
        .await
        .unwrap();
    let mut stored: Vec<_> = scan
        .items()
        .iter()
        .map(|i| i["id"].as_s().unwrap().clone())
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        ["CAKEPHP_b1", "CAKEPHP_b2"],
        "only the rest reached the backend"
    );

    let records = fx.proxy.take_records();
    let [batch] = &records[..] else {
        panic!("{records:?}")
    };
    assert_eq!(batch.injected.as_deref(), Some("unprocessed 2"));
    assert_eq!(
        batch.request["RequestItems"]["wire_batch"]
            .as_array()
            .unwrap()
            .len(),
        4,
        "the client's request"
    );
    assert_eq!(
        batch.response["UnprocessedItems"]["wire_batch"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn empty_and_non_json_bodies_are_recorded_as_null_with_a_note() {
    let fx = fixture("wire_bodies").await;
    let empty = fx.raw("DynamoDB_20120810.UpdateItem", b"").await;
    let garbage = fx
        .raw("DynamoDB_20120810.UpdateItem", b"\x80\xff not json")
        .await;
    let records = fx.proxy.take_records();
    let notes: Vec<_> = records
        .iter()
        .map(|r| (r.request.is_null(), r.request_body))
        .collect();
    assert_eq!(
        notes,
        [
            (true, Some(BodyNote::Empty)),
            (true, Some(BodyNote::NotJson))
        ]
    );
    // What the backend answers, recorded as a 4xx with its error type, or with a note where its answer is not
    // JSON either (spec §2: the PHP SDK sends an empty body when json_encode fails on non-UTF-8 data).
    assert!(empty.status().is_client_error() && garbage.status().is_client_error());
    assert!(
        records
            .iter()
            .all(|r| r.error_type.is_some() || r.response_body == Some(BodyNote::NotJson)),
        "{records:?}"
    );
    // 400 SerializationException for the empty body (moto 5.2 answers 500 with an HTML page, which an SDK
    // retries).
    assert_eq!(
        records[0].error_type.as_deref(),
        Some("SerializationException")
    );
    // Raw clients each have their own connection.
    let conns: Vec<_> = records.iter().map(|r| r.conn.as_str()).collect();
    assert_eq!(conns, ["C1", "C2"]);
    let line = records[0].to_json_line();
    assert!(
        line.contains(r#""request": null"#) && line.contains(r#""request_body": "empty""#),
        "{line}"
    );
}

#[tokio::test]
async fn concurrent_calls_are_numbered_in_order_of_arrival() {
    let fx = fixture("wire_concurrent").await;
    let client = fx.client(1);
    let calls = (0..16).map(|n| {
        let client = client.clone();
        let table = fx.table.clone();
        async move {
            client
                .get_item()
                .table_name(table)
                .key("id", Fixture::key(&format!("CAKEPHP_{n}")))
                .send()
                .await
        }
    });
    for result in futures_join_all(calls).await {
        result.unwrap();
    }
    let records = fx.proxy.take_records();
    let order: Vec<u64> = records.iter().map(|r| r.i).collect();
    assert_eq!(order, (1..=16).collect::<Vec<_>>());
    assert!(records.windows(2).all(|w| w[0].dt_ms <= w[1].dt_ms));
}

/// Spawns every future, then collects the outputs in order (no `futures` dependency for one helper).
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.expect("call task"));
    }
    out
}

#[tokio::test]
async fn shutdown_and_drop_stop_listening() {
    let fx = fixture("wire_shutdown").await;
    let addr = fx.proxy.local_addr();
    fx.proxy.shutdown().await;
    let refused = tokio::net::TcpStream::connect(addr).await;
    assert_eq!(
        refused.unwrap_err().kind(),
        std::io::ErrorKind::ConnectionRefused
    );

    let backend = shared_backend(BackendKind::Dynoxide).await.unwrap();
    let proxy = WireProxy::start(backend.endpoint_url()).await.unwrap();
    let addr = proxy.local_addr();
    drop(proxy);
    // Drop cannot wait for the acceptor task; poll until the port is closed, with a deadline.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::net::TcpStream::connect(addr).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
            _ if Instant::now() > deadline => panic!("{addr} still accepts connections after drop"),
            _ => tokio::task::yield_now().await,
        }
    }
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_recorded_502() {
    // A port that was just free: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let proxy = WireProxy::start(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap();
    let response = raw_post(&proxy.endpoint_url(), "DynamoDB_20120810.ListTables", b"{}").await;
    assert_eq!(response.status(), 502);
    let records: Vec<WireRecord> = proxy.take_records();
    assert_eq!(records[0].status, 502);
    assert!(
        records[0].response["message"]
            .as_str()
            .unwrap()
            .contains("upstream"),
        "{:?}",
        records[0]
    );
    // https upstreams are supported (tests/tls_upstream.rs); other schemes are refused at start.
    assert!(WireProxy::start("ftp://example.invalid").await.is_err());
}
