//! The recording, fault-injecting HTTP proxy between a handler and its DynamoDB backend.
//!
//! Every subject talks to the backend through one of these. A call is buffered whole (DynamoDB bodies are
//! small JSON documents), forwarded with its headers untouched (the original `Host` included: the SigV4
//! signature covers it, and keeping it means a signature-checking upstream still accepts the call), and the
//! response is returned as the backend sent it, `x-amz-crc32` included. Only hop-by-hop headers are dropped
//! on either side, so client connections stay keep-alive even when the backend (moto) closes its own.
//!
//! Each call becomes a [`WireRecord`], pushed *before* the response is released to the client: once a client
//! call has returned, its record is there, so tests need no waiting. Headers are never recorded (only the
//! target), so credentials (`Authorization`, `X-Amz-Security-Token`) cannot reach a trace.
//!
//! The proxy listens on plain http on loopback only; its upstream may be `http://` (the local backends) or
//! `https://` (real AWS, or any endpoint behind TLS), verified with rustls against the system's roots
//! (rustls-native-certs) plus, where given, the certificates of a CA file ([`UpstreamTls`]; the harness's
//! `--ca-file`, `DYNAMO_HARNESS_CA_FILE`).

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::error::WireError;
use crate::fault::{FaultAction, FaultRule, FaultSet, merge_unprocessed, split_batch};
use crate::normalise::round_to;
use crate::record::{BodyNote, WireRecord};
use crate::serve::{self, Acceptor};

/// The header naming the DynamoDB operation, e.g. `DynamoDB_20120810.GetItem`.
const TARGET: &str = "x-amz-target";
const CRC32: &str = "x-amz-crc32";
/// Headers that describe one hop, not the message (RFC 9110 §7.6.1), plus the proxy credential header.
pub(crate) const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The proxy's name in log lines.
const NAME: &str = "wire proxy";

/// A running proxy on `127.0.0.1:<ephemeral>`. Dropping it stops it too.
pub struct WireProxy {
    shared: Arc<Shared>,
    addr: SocketAddr,
    acceptor: Acceptor,
}

/// State shared by the acceptor and every connection.
struct Shared {
    upstream_url: String,
    /// `scheme://authority` of the upstream, to which each request's path is appended.
    upstream_base: String,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    records: Mutex<Vec<WireRecord>>,
    step: Mutex<(Option<usize>, Arc<str>)>,
    faults: Mutex<FaultSet>,
    /// The last call number; held while a call's number and times are taken, so `i` and `dt_ms` agree.
    last_call: Mutex<u64>,
    next_conn: AtomicU64,
    started: Instant,
    /// [`WireProxy::set_counts_only`]: bodies are parsed into the record only where a count needs them.
    counts_only: AtomicBool,
    /// Whether any fault rule is set (the rules match on the parsed request).
    faults_set: AtomicBool,
    /// [`WireProxy::set_sink`]: where records go instead of `records`.
    sink: Mutex<Option<RecordSink>>,
}

/// One accepted client connection.
struct ConnState {
    label: String,
    /// Set by a `reset` fault: the socket is closed with an RST when hyper drops it.
    reset: Arc<AtomicBool>,
}

/// Receives each record as the proxy makes it ([`WireProxy::set_sink`]). It is called on the call's task
/// before the client gets its response, so once a client call has returned its record has been handed
/// over; keep it short (it delays that response).
pub type RecordSink = Arc<dyn Fn(WireRecord) + Send + Sync>;

/// How a call went wrong between proxy and client; returned to hyper, which then drops the connection.
#[derive(Debug, thiserror::Error)]
enum CallError {
    #[error("reading the request body: {0}")]
    ClientBody(#[source] hyper::Error),
    #[error("connection reset by a fault rule")]
    InjectedReset,
}

/// The environment variable naming a PEM file of CA certificates trusted for https upstreams, besides the
/// system's roots (the harness's `--ca-file` sets it).
pub const CA_FILE_ENV: &str = "DYNAMO_HARNESS_CA_FILE";

/// How an `https://` upstream's certificate is verified: the system's roots, plus the certificates of
/// `ca_file` when given. Plain `http://` upstreams ignore it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpstreamTls {
    pub ca_file: Option<PathBuf>,
    /// Leave out the system's roots (only `ca_file` is trusted), as a test of a private CA wants.
    pub no_system_roots: bool,
}

impl UpstreamTls {
    /// The CA file named by `DYNAMO_HARNESS_CA_FILE`, if any, beside the system's roots.
    pub fn from_env() -> Self {
        UpstreamTls {
            ca_file: ca_file_from_env(),
            no_system_roots: false,
        }
    }

    /// Trust `ca_file` besides the system's roots.
    pub fn with_ca_file(ca_file: impl Into<PathBuf>) -> Self {
        UpstreamTls {
            ca_file: Some(ca_file.into()),
            no_system_roots: false,
        }
    }
}

/// The CA file `DYNAMO_HARNESS_CA_FILE` names, if it is set and not empty: the one reading of the variable, for
/// the proxy and for the SDK clients that trust the same file.
pub fn ca_file_from_env() -> Option<PathBuf> {
    std::env::var_os(CA_FILE_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The PEM text of a CA file, once it is known to hold at least one certificate (the SDK's trust store takes
/// the text, rustls the parsed certificates); the error says which file and why.
pub fn read_ca_file(path: &Path) -> Result<Vec<u8>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("CA file {}: {e}", path.display()))?;
    pem_certificates(&pem, path)?;
    Ok(pem)
}

/// The system's root certificates, loaded once per process (a few hundred files are parsed).
fn system_roots() -> &'static [rustls_pki_types::CertificateDer<'static>] {
    static ROOTS: std::sync::OnceLock<Vec<rustls_pki_types::CertificateDer<'static>>> =
        std::sync::OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        if !found.errors.is_empty() {
            tracing::debug!(
                "some system root certificates could not be loaded: {:?}",
                found.errors
            );
        }
        if found.certs.is_empty() {
            tracing::warn!(
                "no system root certificates found: https upstreams verify only against a CA file"
            );
        }
        found.certs
    })
}

/// The rustls client configuration for `tls`; `https` says whether the upstream needs one at all (a plain
/// upstream gets an empty trust store, never used, so no roots are loaded for it).
fn tls_config(
    tls: &UpstreamTls,
    https: bool,
    url: &str,
) -> Result<rustls::ClientConfig, WireError> {
    let bad = |reason: String| WireError::BadUpstream {
        url: url.to_owned(),
        reason,
    };
    let mut roots = rustls::RootCertStore::empty();
    if https {
        if !tls.no_system_roots {
            let (added, _ignored) = roots.add_parsable_certificates(system_roots().iter().cloned());
            tracing::debug!(added, "system roots trusted for {url}");
        }
        if let Some(ca_file) = &tls.ca_file {
            for cert in read_pem_certificates(ca_file).map_err(bad)? {
                roots
                    .add(cert)
                    .map_err(|e| bad(format!("CA file {}: {e}", ca_file.display())))?;
            }
        }
        if roots.is_empty() {
            return Err(bad(
                "no root certificate to verify the upstream with: the system has none (install ca-certificates) \
                 and no CA file was given"
                    .to_owned(),
            ));
        }
    }
    // The provider the AWS SDK uses too, named explicitly: rustls cannot choose when more than one is built in.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(format!("TLS set-up: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// Every certificate of a PEM file.
fn read_pem_certificates(
    path: &Path,
) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, String> {
    pem_certificates(&read_ca_file(path)?, path)
}

/// Every certificate of `pem`, read from `path`; at least one.
fn pem_certificates(
    pem: &[u8],
    path: &Path,
) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, String> {
    use rustls_pki_types::pem::PemObject as _;
    let certs = rustls_pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("CA file {}: not PEM certificates: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("CA file {}: no certificate in it", path.display()));
    }
    Ok(certs)
}

impl WireProxy {
    /// Starts a proxy forwarding to `upstream` (`http://host:port`, as `Backend::endpoint_url` gives it, or
    /// `https://host[:port]`, verified as [`UpstreamTls::from_env`] says).
    pub async fn start(upstream: &str) -> Result<WireProxy, WireError> {
        Self::start_with_tls(upstream, &UpstreamTls::from_env()).await
    }

    /// [`WireProxy::start`] with the given trust for an https upstream.
    pub async fn start_with_tls(upstream: &str, tls: &UpstreamTls) -> Result<WireProxy, WireError> {
        let upstream_base = upstream_base(upstream)?;
        let https = upstream_base.starts_with("https://");
        let config = tls_config(tls, https, upstream)?;
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(WireError::Bind)?;
        let addr = listener.local_addr().map_err(WireError::Bind)?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        // The https connector sees `https://` URIs; HttpConnector alone refuses them.
        connector.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let shared = Arc::new(Shared {
            upstream_url: upstream.to_owned(),
            upstream_base,
            client,
            records: Mutex::new(Vec::new()),
            step: Mutex::new((None, Arc::from(""))),
            faults: Mutex::new(FaultSet::new(Vec::new())),
            last_call: Mutex::new(0),
            next_conn: AtomicU64::new(0),
            started: Instant::now(),
            counts_only: AtomicBool::new(false),
            faults_set: AtomicBool::new(false),
            sink: Mutex::new(None),
        });
        let acceptor = Acceptor::spawn(NAME, {
            let shared = Arc::clone(&shared);
            move |stop| accept_loop(listener, shared, stop)
        });
        tracing::debug!(%addr, upstream, "wire proxy listening");
        Ok(WireProxy {
            shared,
            addr,
            acceptor,
        })
    }

    /// `http://127.0.0.1:<port>`, to give the client as its endpoint.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn upstream_url(&self) -> &str {
        &self.shared.upstream_url
    }

    /// Labels the records of the calls that arrive from now on.
    pub fn set_step(&self, step: &str) {
        *lock(&self.shared.step) = (None, Arc::from(step));
    }

    /// The same, for a numbered step of a case: later calls carry `number` in [`WireRecord::step_number`], so
    /// the runner finds a step's calls without reading its label back.
    pub fn set_numbered_step(&self, number: usize, label: &str) {
        *lock(&self.shared.step) = (Some(number), Arc::from(label));
    }

    /// The records so far, in order of arrival, leaving them in place.
    pub fn records(&self) -> Vec<WireRecord> {
        let mut records = lock(&self.shared.records).clone();
        records.sort_by_key(|r| r.i);
        records
    }

    /// The records so far, in order of arrival, removing them.
    pub fn take_records(&self) -> Vec<WireRecord> {
        let mut records = std::mem::take(&mut *lock(&self.shared.records));
        records.sort_by_key(|r| r.i);
        records
    }

    /// Replaces the fault rules (and resets their hit counts and RNGs); empty means pass-through.
    pub fn set_faults(&self, rules: Vec<FaultRule>) {
        let mut faults = lock(&self.shared.faults);
        self.shared
            .faults_set
            .store(!rules.is_empty(), Ordering::SeqCst);
        *faults = FaultSet::new(rules);
    }

    /// For load, which only counts calls: from now on a record's `request` is parsed only for BatchWriteItem
    /// (whose deletes are counted) or while fault rules are set, and its `response` only for an error answer
    /// (whose `__type` gives `error_type`); otherwise both are null, `request_body`/`response_body` unset. Every
    /// other field (`op`, `status`, `error_type`, `latency_ms`, ...) is as always, and what the client gets is
    /// unchanged. Off by default: traces and expectations need the bodies.
    pub fn set_counts_only(&self, on: bool) {
        self.shared.counts_only.store(on, Ordering::SeqCst);
    }

    /// Hands every record made from now on to `sink` instead of keeping it (`records` and `take_records`
    /// then see none of them), so a recording that runs for hours holds no trace in memory; `None` goes back
    /// to keeping them.
    pub fn set_sink(&self, sink: Option<RecordSink>) {
        *lock(&self.shared.sink) = sink;
    }

    /// How often each rule of the last `set_faults` has applied, in rule order.
    pub fn fault_hits(&self) -> Vec<u64> {
        lock(&self.shared.faults).hits()
    }

    /// Stops accepting, closes idle connections and lets calls in flight finish; returns when the listening
    /// socket is closed.
    pub async fn shutdown(mut self) {
        self.acceptor.stop().await;
    }
}

impl std::fmt::Debug for WireProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream_url)
            .finish_non_exhaustive()
    }
}

/// Where a call's record goes: the sink when one is set, else the records kept for `take_records`.
fn push_record(shared: &Shared, record: WireRecord) {
    let sink = lock(&shared.sink).clone();
    match sink {
        Some(sink) => sink(record),
        None => lock(&shared.records).push(record),
    }
}

/// A poisoned lock only means another call panicked mid-update of plain data; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn upstream_base(url: &str) -> Result<String, WireError> {
    serve::origin(
        url,
        &["http", "https"],
        "http://host:port or https://host",
        "a path is not supported; DynamoDB is served at /",
    )
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    while let Some(stream) = serve::accept(&listener, &mut stop, NAME).await {
        let n = shared.next_conn.fetch_add(1, Ordering::Relaxed) + 1;
        let conn = Arc::new(ConnState {
            label: format!("C{n}"),
            reset: Arc::new(AtomicBool::new(false)),
        });
        let io = TokioIo::new(ResettableStream {
            inner: stream,
            reset: Arc::clone(&conn.reset),
        });
        let shared = Arc::clone(&shared);
        let service = service_fn(move |req| handle(Arc::clone(&shared), Arc::clone(&conn), req));
        tokio::spawn(serve::serve_connection(io, service, stop.clone(), NAME));
    }
    tracing::debug!("wire proxy stopped listening");
}

/// What the client gets back, and what the record says about it.
struct Outcome {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
    latency_ms: f64,
}

async fn handle(
    shared: Arc<Shared>,
    conn: Arc<ConnState>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, CallError> {
    let (i, t_unix, dt_ms) = {
        let mut last = lock(&shared.last_call);
        *last += 1;
        let t_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        (
            *last,
            t_unix,
            round_to(shared.started.elapsed().as_secs_f64() * 1000.0, 1000.0),
        )
    };
    let (step_number, step) = {
        let current = lock(&shared.step);
        (current.0, current.1.to_string())
    };
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map_err(CallError::ClientBody)?
        .to_bytes();
    let target = parts
        .headers
        .get(TARGET)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let op = target.rsplit_once('.').map_or("", |(_, op)| op).to_owned();
    let counts_only =
        shared.counts_only.load(Ordering::Relaxed) && !shared.faults_set.load(Ordering::Relaxed);
    let (request, request_body) = match counts_only && op != "BatchWriteItem" {
        true => (Value::Null, None),
        false => parse_body(&body),
    };
    let action = match counts_only {
        true => None,
        false => lock(&shared.faults).decide(&op, &request),
    };

    let mut record = WireRecord {
        i,
        dt_ms,
        latency_ms: 0.0,
        conn: conn.label.clone(),
        step,
        op,
        target,
        request,
        status: 0,
        error_type: None,
        response: Value::Null,
        injected: action.as_ref().map(ToString::to_string),
        request_body,
        response_body: None,
        t_unix: Some(t_unix),
        step_number,
    };

    let outcome = match &action {
        None => forward(&shared, &parts, body).await,
        Some(FaultAction::Reset) => {
            conn.reset.store(true, Ordering::SeqCst);
            push_record(&shared, record);
            return Err(CallError::InjectedReset);
        }
        Some(FaultAction::LatencyMs(ms)) => {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
            forward(&shared, &parts, body).await
        }
        Some(FaultAction::BadCrc32) => {
            let mut outcome = forward(&shared, &parts, body).await;
            let wrong = crc32fast::hash(&outcome.body) ^ 0xFFFF_FFFF;
            outcome
                .headers
                .insert(HeaderName::from_static(CRC32), HeaderValue::from(wrong));
            outcome
        }
        Some(FaultAction::Unprocessed(n)) => {
            unprocessed(&shared, &parts, body, &record.request, *n).await
        }
        Some(other) => {
            let (status, body) = other
                .synthetic_response()
                .expect("every other action answers by itself");
            dynamodb_outcome(status, Bytes::from(body))
        }
    };

    let (response, response_body) = match counts_only && outcome.status == 200 {
        true => (Value::Null, None),
        false => parse_body(&outcome.body),
    };
    record.latency_ms = round_to(outcome.latency_ms, 100.0);
    record.status = outcome.status;
    record.error_type = response
        .get("__type")
        .and_then(Value::as_str)
        .map(|t| t.rsplit_once('#').map_or(t, |(_, code)| code).to_owned());
    record.response = response;
    record.response_body = response_body;
    push_record(&shared, record);

    let mut response = Response::new(Full::new(outcome.body));
    *response.status_mut() =
        StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::BAD_GATEWAY);
    *response.headers_mut() = outcome.headers;
    Ok(response)
}

/// Passes the call to the backend. An unreachable backend becomes a 502 with an explanatory body, so the
/// failure is visible in the trace and the client retries as it would on a gateway error.
async fn forward(shared: &Shared, parts: &http::request::Parts, body: Bytes) -> Outcome {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut builder = Request::builder()
        .method(parts.method.clone())
        .uri(format!("{}{}", shared.upstream_base, path));
    for (name, value) in &parts.headers {
        // Content-Length is set from the body actually sent: a fault may forward a different body.
        if !is_hop_by_hop(name) && name != header::CONTENT_LENGTH {
            builder = builder.header(name, value);
        }
    }
    builder = builder.header(header::CONTENT_LENGTH, body.len());
    let request = match builder.body(Full::new(body)) {
        Ok(request) => request,
        Err(e) => return proxy_failure(format!("cannot build the upstream request: {e}")),
    };
    let sent = Instant::now();
    let result = async {
        let response = shared
            .client
            .request(request)
            .await
            .map_err(|e| crate::error::one_line(&e))?;
        let (head, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| crate::error::one_line(&e))?
            .to_bytes();
        Ok::<_, String>((head, body))
    }
    .await;
    let latency_ms = sent.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok((head, body)) => {
            let mut headers = head.headers;
            strip_hop_by_hop(&mut headers);
            Outcome {
                status: head.status.as_u16(),
                headers,
                body,
                latency_ms,
            }
        }
        Err(e) => {
            tracing::warn!(upstream = %shared.upstream_url, "wire proxy upstream call failed: {e}");
            Outcome {
                latency_ms,
                ..proxy_failure(format!("upstream {} failed: {e}", shared.upstream_url))
            }
        }
    }
}

/// Forwards all but the last `n` write requests of a BatchWriteItem and reports those as unprocessed.
async fn unprocessed(
    shared: &Shared,
    parts: &http::request::Parts,
    body: Bytes,
    request: &Value,
    n: usize,
) -> Outcome {
    let Some(split) = split_batch(request, n) else {
        // Not a batch we can split (the matcher only lets BatchWriteItem through; its body may be broken):
        // let the backend give its own answer.
        return forward(shared, parts, body).await;
    };
    let mut outcome = match split.forward {
        Some(rest) => {
            let rest = serde_json::to_vec(&rest).expect("a Value serialises");
            let outcome = forward(shared, parts, Bytes::from(rest)).await;
            if outcome.status != 200 {
                return outcome;
            }
            outcome
        }
        None => dynamodb_outcome(200, Bytes::from_static(b"{}")),
    };
    let mut response = serde_json::from_slice(&outcome.body).unwrap_or(Value::Null);
    merge_unprocessed(&mut response, split.unprocessed);
    let body = Bytes::from(serde_json::to_vec(&response).expect("a Value serialises"));
    set_body_headers(&mut outcome.headers, &body);
    outcome.body = body;
    outcome
}

/// A response made by the proxy, with the headers DynamoDB sends (checksum included, as the PHP SDK checks it).
fn dynamodb_outcome(status: u16, body: Bytes) -> Outcome {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    headers.insert(
        HeaderName::from_static("x-amzn-requestid"),
        HeaderValue::from_static("WIREPROXYINJECTED"),
    );
    set_body_headers(&mut headers, &body);
    Outcome {
        status,
        headers,
        body,
        latency_ms: 0.0,
    }
}

fn proxy_failure(message: String) -> Outcome {
    let body = serde_json::to_vec(
        &serde_json::json!({"message": format!("dynamo-wire proxy: {message}")}),
    )
    .expect("a json! value serialises");
    let mut outcome = dynamodb_outcome(502, Bytes::from(body));
    outcome.headers.remove(CRC32);
    outcome
}

fn set_body_headers(headers: &mut HeaderMap, body: &Bytes) {
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    headers.insert(
        HeaderName::from_static(CRC32),
        HeaderValue::from(crc32fast::hash(body)),
    );
}

pub(crate) fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(&name.as_str())
}

pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// The body as JSON, or null and the reason.
fn parse_body(body: &[u8]) -> (Value, Option<BodyNote>) {
    if body.is_empty() {
        return (Value::Null, Some(BodyNote::Empty));
    }
    match serde_json::from_slice(body) {
        Ok(value) => (value, None),
        Err(_) => (Value::Null, Some(BodyNote::NotJson)),
    }
}

/// A client socket that can be made to close with an RST (SO_LINGER 0) instead of a FIN, the way a crashed
/// load balancer or a dropped connection looks to the client (curl error 56, retried by the PHP SDK).
struct ResettableStream {
    inner: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.reset.load(Ordering::SeqCst)
            && let Err(e) = self.inner.set_zero_linger()
        {
            tracing::debug!("SO_LINGER 0 for an injected reset: {e}");
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.reset.load(Ordering::SeqCst) {
            // A FIN first would let the client see a clean end of stream instead of a reset.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_urls() {
        assert_eq!(
            upstream_base("http://127.0.0.1:4567").unwrap(),
            "http://127.0.0.1:4567"
        );
        assert_eq!(
            upstream_base("http://localhost:8000/").unwrap(),
            "http://localhost:8000"
        );
        assert_eq!(
            upstream_base("https://dynamodb.us-east-1.amazonaws.com").unwrap(),
            "https://dynamodb.us-east-1.amazonaws.com"
        );
        for bad in [
            "ftp://dynamodb.us-east-1.amazonaws.com",
            "127.0.0.1:4567",
            "http://h:1/x",
            "::",
        ] {
            assert!(upstream_base(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bodies() {
        assert_eq!(parse_body(b""), (Value::Null, Some(BodyNote::Empty)));
        assert_eq!(
            parse_body(b"\x80\xff"),
            (Value::Null, Some(BodyNote::NotJson))
        );
        assert_eq!(
            parse_body(b"{\"a\":1}"),
            (serde_json::json!({"a": 1}), None)
        );
    }
}
