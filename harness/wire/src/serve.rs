//! What the wire proxy and the front proxy share: a loopback HTTP/1.1 server whose acceptor stops on a signal,
//! and connections that finish their exchange in flight before closing.

use std::future::Future;

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::WireError;

/// A running acceptor and the signal that stops it (and, through the receivers it handed out, every
/// connection). Dropping it signals too, so a server never outlives its owner.
pub(crate) struct Acceptor {
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    name: &'static str,
}

impl Acceptor {
    /// Spawns `accept_loop(stop)`; `name` is for the log line of an acceptor that panicked.
    pub(crate) fn spawn<F, Fut>(name: &'static str, accept_loop: F) -> Acceptor
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (shutdown, stop) = watch::channel(false);
        Acceptor {
            shutdown,
            task: Some(tokio::spawn(accept_loop(stop))),
            name,
        }
    }

    /// Signals the stop and waits for the acceptor to finish.
    pub(crate) async fn stop(&mut self) {
        self.shutdown.send_replace(true);
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::warn!("{} acceptor ended abnormally: {e}", self.name);
        }
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        // The acceptor and the connections watch this; they stop on their next poll.
        self.shutdown.send_replace(true);
    }
}

/// Resolves once the stop has been signalled.
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// The next accepted connection (with TCP_NODELAY), or `None` once the stop is signalled. A failed accept (out
/// of file descriptors and the like) is logged and skipped: the connections already served go on.
pub(crate) async fn accept(
    listener: &TcpListener,
    stop: &mut watch::Receiver<bool>,
    name: &str,
) -> Option<TcpStream> {
    loop {
        let accepted = tokio::select! {
            () = stopped(stop) => return None,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!("TCP_NODELAY on a {name} connection: {e}");
                }
                return Some(stream);
            }
            Err(e) => tracing::warn!("{name} accept failed: {e}"),
        }
    }
}

/// Serves one connection with keep-alive; on the stop, the exchange in flight finishes and the connection
/// closes. Its end (a client hang-up, an injected reset) is not the server's failure, so it is only logged.
pub(crate) async fn serve_connection<I, S, B>(
    io: TokioIo<I>,
    service: S,
    mut stop: watch::Receiver<bool>,
    name: &str,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let connection = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stopped(&mut stop) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        tracing::debug!("{name} connection ended: {e}");
    }
}

/// What a forwarding server sends to: `scheme://authority` of `url`, whose scheme is one of `schemes`, with a
/// host, no user information and no path or query (paths are forwarded as clients send them). `shape` is
/// what the messages say is expected (`http://HOST:PORT`) and `path_note` why no path is taken.
pub(crate) fn origin(
    url: &str,
    schemes: &[&str],
    shape: &str,
    path_note: &str,
) -> Result<String, WireError> {
    let bad = |reason: String| WireError::BadUpstream {
        url: url.to_owned(),
        reason,
    };
    let uri: http::Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| bad(e.to_string()))?;
    let scheme = match uri.scheme_str() {
        Some(scheme) if schemes.contains(&scheme) => scheme,
        Some(other) => return Err(bad(format!("the scheme is {other:?}; expected {shape}"))),
        None => return Err(bad(format!("no scheme; expected {shape}"))),
    };
    let authority = uri
        .authority()
        .filter(|a| !a.host().is_empty())
        .ok_or_else(|| bad(format!("no host; expected {shape}")))?;
    if authority.as_str().contains('@') {
        return Err(bad("user information is not supported".to_owned()));
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(bad(path_note.to_owned()));
    }
    Ok(format!("{scheme}://{authority}"))
}
