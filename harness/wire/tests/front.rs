//! The HTTP front against a small app: requests and answers pass untouched (Host, cookies, a redirect that is
//! not followed, bodies both ways), the observer sees start, answer and end in order, and an app that is not
//! there is a 502 that says why.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use dynamo_wire::{ExchangeEnd, ExchangeStart, FrontObserver, FrontProxy};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Events(Mutex<Vec<String>>);

impl FrontObserver for Events {
    fn started(&self, exchange: &ExchangeStart<'_>) {
        self.0.lock().unwrap().push(format!(
            "start {} {} {}",
            exchange.n, exchange.method, exchange.target
        ));
    }

    fn answered(&self, n: u64, status: StatusCode, headers: &HeaderMap) {
        let cookies = headers.get_all("set-cookie").iter().count();
        self.0
            .lock()
            .unwrap()
            .push(format!("answer {n} {} cookies={cookies}", status.as_u16()));
    }

    fn ended(&self, n: u64, end: ExchangeEnd) {
        self.0.lock().unwrap().push(format!(
            "end {n} {:?} error={}",
            end.status,
            end.error.is_some()
        ));
    }
}

/// Answers every request with a redirect, two cookies and a body echoing what it received.
async fn app(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .map_or("-", |v| v.to_str().unwrap())
            .to_owned()
    };
    let echo = format!(
        "{} {} host={} cookie={} x-custom={} connection={} body={}",
        parts.method,
        parts.uri,
        header("host"),
        header("cookie"),
        header("x-custom"),
        header("x-hop"),
        String::from_utf8_lossy(&body)
    );
    let response = Response::builder()
        .status(302)
        .header("location", "/next")
        .header("set-cookie", "CAKEPHP=abc; path=/; HttpOnly")
        .header("set-cookie", "other=1")
        .body(Full::new(Bytes::from(echo)))
        .unwrap();
    Ok(response)
}

async fn start_app() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(
                http1::Builder::new().serve_connection(TokioIo::new(stream), service_fn(app)),
            );
        }
    });
    url
}

/// One raw HTTP/1.1 exchange, the connection closed after it; returns the whole answer.
async fn exchange(front: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(front.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn requests_and_answers_pass_untouched() {
    let events = Arc::new(Events::default());
    let front = FrontProxy::start(&start_app().await, 0, events.clone())
        .await
        .unwrap();
    let answer = exchange(
        &front.url(),
        "POST /login?next=%2Fhome HTTP/1.1\r\nHost: registry.example:443\r\nCookie: CAKEPHP=old; a=b\r\n\
         X-Custom: kept\r\nX-Hop: dropped\r\nConnection: close, X-Hop\r\nContent-Length: 5\r\n\r\nu=bob",
    )
    .await;
    let lower = answer.to_ascii_lowercase();
    assert!(answer.starts_with("HTTP/1.1 302 Found\r\n"), "{answer}");
    assert!(lower.contains("\r\nlocation: /next\r\n"), "{answer}");
    assert!(
        lower.contains("\r\nset-cookie: cakephp=abc; path=/; httponly\r\n")
            && lower.contains("\r\nset-cookie: other=1\r\n"),
        "{answer}"
    );
    assert!(
        answer.ends_with(
            "POST /login?next=%2Fhome host=registry.example:443 cookie=CAKEPHP=old; a=b x-custom=kept \
             connection=- body=u=bob"
        ),
        "{answer}"
    );
    front.shutdown().await;
    assert_eq!(
        *events.0.lock().unwrap(),
        [
            "start 1 POST /login?next=%2Fhome",
            "answer 1 302 cookies=2",
            "end 1 Some(302) error=false"
        ]
    );
}

#[tokio::test]
async fn an_app_that_is_not_there_is_a_502_that_says_so() {
    let gone = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", gone.local_addr().unwrap());
    drop(gone);
    let events = Arc::new(Events::default());
    let front = FrontProxy::start(&url, 0, events.clone()).await.unwrap();
    let answer = exchange(
        &front.url(),
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 502 Bad Gateway\r\n"),
        "{answer}"
    );
    assert!(answer.contains("did not answer"), "{answer}");
    front.shutdown().await;
    assert_eq!(
        *events.0.lock().unwrap(),
        [
            "start 1 GET /",
            "answer 1 502 cookies=0",
            "end 1 Some(502) error=true"
        ]
    );
}
