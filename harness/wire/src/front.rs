//! The HTTP front: a plain HTTP/1.1 forwarding proxy on loopback, in front of a web app, that tells an
//! observer when each exchange starts, what the app answered and when the exchange ended. With the wire proxy
//! behind the app, that is what ties the app's DynamoDB calls to the HTTP requests that caused them
//! (`dynamo-harness backend up --record`).
//!
//! Requests and responses pass as they are: method, path and query, headers (`Host` and cookies included,
//! so the app's redirects and absolute URLs keep pointing at the front), status and bodies, streamed both
//! ways. Redirects are not followed. Only hop-by-hop headers are dropped (RFC 9110 §7.6.1), as any proxy
//! must; hyper frames each side's body itself.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::error::WireError;
use crate::proxy::{HOP_BY_HOP, is_hop_by_hop, strip_hop_by_hop};
use crate::serve::{self, Acceptor};

/// How long exchanges still running at shutdown may take to finish before they are cut.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// One HTTP request as it reached the front.
#[derive(Debug)]
pub struct ExchangeStart<'a> {
    /// The exchange's number, from 1 in order of arrival.
    pub n: u64,
    pub method: &'a Method,
    /// Path and query as the client sent them (`/session?x=1`).
    pub target: &'a str,
    pub headers: &'a HeaderMap,
}

/// How an exchange ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeEnd {
    /// The status the client was given (502 when the app could not be reached); `None` when the client went
    /// away, or the front stopped, before an answer.
    pub status: Option<u16>,
    /// What went wrong, if anything: the app unreachable, a body cut short.
    pub error: Option<String>,
}

/// Told about every exchange, in this order: `started`, `answered` (unless the client went away first),
/// `ended` (exactly once, after the last byte of the response body was handed to the client's connection,
/// or when the exchange was cut). Called on the exchange's task: keep each call short.
pub trait FrontObserver: Send + Sync + 'static {
    fn started(&self, exchange: &ExchangeStart<'_>);
    fn answered(&self, n: u64, status: StatusCode, headers: &HeaderMap);
    fn ended(&self, n: u64, end: ExchangeEnd);
}

/// The front's name in log lines.
const NAME: &str = "front";

/// A running front on `127.0.0.1`. Dropping it stops it too.
pub struct FrontProxy {
    addr: SocketAddr,
    app_base: String,
    acceptor: Acceptor,
}

struct Shared {
    app_base: String,
    client: Client<HttpConnector, Incoming>,
    observer: Arc<dyn FrontObserver>,
    next_exchange: AtomicU64,
}

impl FrontProxy {
    /// Starts a front on `127.0.0.1:port` (0: a free port) forwarding to `app`, an `http://host:port` origin
    /// (no path: paths are forwarded as the client sends them).
    pub async fn start(
        app: &str,
        port: u16,
        observer: Arc<dyn FrontObserver>,
    ) -> Result<FrontProxy, WireError> {
        let app_base = app_origin(app)?;
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(WireError::Bind)?;
        let addr = listener.local_addr().map_err(WireError::Bind)?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let shared = Arc::new(Shared {
            app_base: app_base.clone(),
            client,
            observer,
            next_exchange: AtomicU64::new(0),
        });
        let acceptor = Acceptor::spawn(NAME, move |stop| accept_loop(listener, shared, stop));
        tracing::debug!(%addr, app, "front listening");
        Ok(FrontProxy {
            addr,
            app_base,
            acceptor,
        })
    }

    /// `http://127.0.0.1:<port>`, the address to give the browser.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The app's origin, `http://host:port`.
    pub fn app_url(&self) -> &str {
        &self.app_base
    }

    /// Stops accepting, lets exchanges in flight finish for up to two seconds, then cuts the rest (each
    /// still gets its `ended`); returns when every connection is closed.
    pub async fn shutdown(mut self) {
        self.acceptor.stop().await;
    }
}

impl std::fmt::Debug for FrontProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrontProxy")
            .field("addr", &self.addr)
            .field("app", &self.app_base)
            .finish_non_exhaustive()
    }
}

/// `http://host[:port]` of an app URL; a path other than `/`, a query or another scheme is refused.
fn app_origin(url: &str) -> Result<String, WireError> {
    serve::origin(
        url,
        &["http"],
        "http://HOST:PORT (the front forwards plain http)",
        "give the app's origin only (http://HOST:PORT): every path is forwarded as the browser sends it",
    )
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        let stream = tokio::select! {
            stream = serve::accept(&listener, &mut stop, NAME) => match stream {
                Some(stream) => stream,
                None => break,
            },
            // Reap finished connections as we go, so the set does not grow with every one ever served.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let shared = Arc::clone(&shared);
        let service = service_fn(move |req| handle(Arc::clone(&shared), req));
        connections.spawn(serve::serve_connection(
            TokioIo::new(stream),
            service,
            stop.clone(),
            NAME,
        ));
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        // Aborting drops each exchange's state, which reports its end.
        connections.shutdown().await;
    }
    tracing::debug!("front stopped");
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<FrontBody>, Infallible> {
    let n = shared.next_exchange.fetch_add(1, Ordering::Relaxed) + 1;
    let (parts, body) = req.into_parts();
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    shared.observer.started(&ExchangeStart {
        n,
        method: &parts.method,
        target,
        headers: &parts.headers,
    });
    // From here on the exchange's end is reported whatever happens, the client going away included (hyper
    // then drops this future, and the guard with it).
    let mut end = EndGuard {
        n,
        observer: Arc::clone(&shared.observer),
        end: ExchangeEnd {
            status: None,
            error: None,
        },
        complete: false,
    };
    let mut upstream = Request::builder()
        .method(parts.method.clone())
        .uri(format!("{}{}", shared.app_base, target))
        .version(http::Version::HTTP_11);
    let connection_named = connection_tokens(&parts.headers);
    for (name, value) in &parts.headers {
        if !is_hop_by_hop(name) && !connection_named.iter().any(|c| c == name.as_str()) {
            upstream = upstream.header(name, value);
        }
    }
    let result = match upstream.body(body) {
        Ok(request) => shared.client.request(request).await.map_err(|e| {
            format!(
                "the app at {} did not answer: {}",
                shared.app_base,
                crate::error::one_line(&e)
            )
        }),
        Err(e) => Err(format!("cannot build the request to the app: {e}")),
    };
    let response = match result {
        Ok(response) => {
            let (mut head, body) = response.into_parts();
            let named = connection_tokens(&head.headers);
            strip_hop_by_hop(&mut head.headers);
            for name in named {
                head.headers.remove(name.as_str());
            }
            shared.observer.answered(n, head.status, &head.headers);
            end.end.status = Some(head.status.as_u16());
            Response::from_parts(
                head,
                FrontBody {
                    inner: Inner::App(body),
                    end: Some(end),
                },
            )
        }
        Err(message) => {
            tracing::warn!("{message}");
            let mut response = Response::new(Full::new(Bytes::from(format!(
                "dynamo-harness front: {message}\n"
            ))));
            *response.status_mut() = StatusCode::BAD_GATEWAY;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            shared
                .observer
                .answered(n, StatusCode::BAD_GATEWAY, response.headers());
            end.end.status = Some(502);
            end.end.error = Some(message);
            let (head, body) = response.into_parts();
            Response::from_parts(
                head,
                FrontBody {
                    inner: Inner::Local(body),
                    end: Some(end),
                },
            )
        }
    };
    Ok(response)
}

/// The header names a `Connection` header lists: hop-by-hop too (RFC 9110 §7.6.1).
fn connection_tokens(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty() && !HOP_BY_HOP.contains(&t.as_str()))
        .collect()
}

/// Reports an exchange's end when dropped: at the end of its response body, or when it is cut.
struct EndGuard {
    n: u64,
    observer: Arc<dyn FrontObserver>,
    end: ExchangeEnd,
    /// Whether the whole response body was handed over.
    complete: bool,
}

impl Drop for EndGuard {
    fn drop(&mut self) {
        if !self.complete && self.end.error.is_none() {
            self.end.error = Some(
                "cut short before the whole response was sent (the client went away, or the front stopped)"
                    .to_owned(),
            );
        }
        let end = std::mem::replace(
            &mut self.end,
            ExchangeEnd {
                status: None,
                error: None,
            },
        );
        self.observer.ended(self.n, end);
    }
}

/// The response body the client gets: the app's, streamed, or the front's own error text; it carries the
/// exchange's [`EndGuard`] and lets it go at the body's last frame.
pub struct FrontBody {
    inner: Inner,
    end: Option<EndGuard>,
}

enum Inner {
    App(Incoming),
    Local(Full<Bytes>),
}

impl Body for FrontBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = match &mut this.inner {
            Inner::App(body) => Pin::new(body).poll_frame(cx),
            Inner::Local(body) => Pin::new(body)
                .poll_frame(cx)
                .map_err(|never| match never {}),
        };
        match &polled {
            Poll::Ready(None) => {
                if let Some(mut end) = this.end.take() {
                    end.complete = true;
                }
            }
            Poll::Ready(Some(Err(e))) => {
                if let Some(mut end) = this.end.take() {
                    end.end.error = Some(format!("the app's response body broke off: {e}"));
                }
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner_ended()
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::App(body) => body.size_hint(),
            Inner::Local(body) => body.size_hint(),
        }
    }
}

impl FrontBody {
    fn inner_ended(&self) -> bool {
        match &self.inner {
            Inner::App(body) => body.is_end_stream(),
            Inner::Local(body) => body.is_end_stream(),
        }
    }
}

impl Drop for FrontBody {
    fn drop(&mut self) {
        // hyper may drop a body that says it has ended without polling it once more.
        let ended = self.inner_ended();
        if let Some(mut end) = self.end.take() {
            end.complete = ended;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_origins() {
        assert_eq!(
            app_origin("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            app_origin("http://localhost:8080/").unwrap(),
            "http://localhost:8080"
        );
        for bad in [
            "https://127.0.0.1:8443",
            "127.0.0.1:8080",
            "http://127.0.0.1:8080/registry",
            "http://127.0.0.1:8080/?x=1",
            "http://u:p@127.0.0.1:8080",
        ] {
            assert!(app_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn connection_names_further_hop_by_hop_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, X-Hop"),
        );
        assert_eq!(connection_tokens(&headers), ["x-hop"]);
    }
}
