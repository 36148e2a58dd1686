//! `backend up --record DIR --app URL` on the built binary, with the Rust test app behind its front: every
//! DynamoDB call lands in DIR/trace.jsonl under the HTTP request that made it, with the ops the HTTP
//! contract implies (the SDK's own traces in fixtures/sdk-traces), and every request in DIR/requests.jsonl;
//! two requests in flight at once are told apart by their session cookies, or marked `A | B` when they
//! share one; a call made outside any request is `(no request)`; Ctrl-C ends it with a totals line.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Parser as _;
use dynamo_wire::{WireRecord, read_trace};
use serde_json::{Value, json};

const TABLE: &str = "record_test_sessions";

/// The harness binary, killed (and reaped) when dropped, whatever the test did.
struct Harness {
    child: Child,
    stdout: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Harness {
    fn start(args: &[&str]) -> Harness {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dynamo-harness"))
            .args(args)
            .env_remove("COMANAGE_REGISTRY_DYNAMODB_ENDPOINT")
            .env_remove("COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_TABLE")
            .env_remove("DYNAMO_HARNESS_YES_REAL_AWS")
            .env_remove("DYNAMO_HARNESS_CA_FILE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting dynamo-harness");
        let (tx, stdout) = mpsc::channel();
        let out = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Harness {
            child,
            stdout,
            seen: Vec::new(),
        }
    }

    /// The next stdout line, or `None` at the end of stdout; panics after `limit`.
    fn next_line(&mut self, deadline: Instant) -> Option<String> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.stdout.recv_timeout(left) {
            Ok(line) => {
                self.seen.push(line.clone());
                Some(line)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => None,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!(
                    "dynamo-harness is silent; stdout so far:\n{}",
                    self.seen.join("\n")
                )
            }
        }
    }

    /// Reads stdout up to `ready`; returns the `name: value` lines before it.
    fn until_ready(&mut self) -> HashMap<String, String> {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut fields = HashMap::new();
        loop {
            let line = self
                .next_line(deadline)
                .unwrap_or_else(|| panic!("no `ready`; stdout:\n{}", self.seen.join("\n")));
            if line == "ready" {
                return fields;
            }
            if let Some((name, value)) = line.trim().split_once(':') {
                fields.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    /// Ctrl-C; returns the exit code and the stdout printed after `ready`.
    fn interrupt(mut self) -> (Option<i32>, Vec<String>) {
        // SAFETY: kill(2) on our own child, not yet reaped (Drop reaps it).
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut rest = Vec::new();
        while let Some(line) = self.next_line(deadline) {
            rest.push(line);
        }
        let status = self.child.wait().expect("waiting for dynamo-harness");
        (status.code(), rest)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Rust test app, in process, on a listener bound before the harness starts (its port is `--app`).
struct App {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl App {
    async fn start(listener: std::net::TcpListener, endpoint: &str, region: &str) -> App {
        let mut args = dynamo_rust_app::Args::try_parse_from([
            "dynamo-rust-app",
            "--endpoint-url",
            endpoint,
            "--region",
            region,
            "--table",
            TABLE,
            "--access-key-id",
            "test",
            "--secret-access-key",
            "test",
        ])
        .expect("the app's arguments");
        args.session_json = None;
        args.ini_json = None;
        let state = args.into_state().await.expect("the app's state");
        listener.set_nonblocking(true).unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(dynamo_rust_app::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        App {
            stop: Some(stop),
            server,
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.server).await.unwrap().unwrap();
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// An HTTP client of the front that keeps cookies by hand, so each request says which session it carries.
struct Browser {
    http: reqwest::Client,
    front: String,
}

impl Browser {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        cookie: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value, Option<String>) {
        let mut request = self.http.request(method, format!("{}{path}", self.front));
        if let Some(sid) = cookie {
            request = request.header("Cookie", format!("CAKEPHP={sid}"));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("a request through the front");
        let status = response.status().as_u16();
        let set_cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next()?.strip_prefix("CAKEPHP="))
            .map(str::to_owned)
            .next_back();
        let body = response.json().await.expect("a JSON answer");
        (status, body, set_cookie)
    }
}

fn fixture_ops(name: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/sdk-traces")
        .join(format!("{name}.jsonl"));
    read_trace(&path)
        .unwrap()
        .into_iter()
        .map(|r| r.op)
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|v| v.as_str().expect("an op name").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn numbers(value: &Value) -> Vec<u64> {
    value
        .as_array()
        .map(|items| items.iter().map(|v| v.as_u64().unwrap()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_each_requests_calls_and_marks_what_it_cannot_attribute() {
    let dir = tempfile::tempdir().unwrap();
    let record_dir: PathBuf = dir.path().join("recording");
    let app_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let app_url = format!("http://{}", app_listener.local_addr().unwrap());
    let mut harness = Harness::start(&[
        "backend",
        "up",
        "--table",
        TABLE,
        "--record",
        record_dir.to_str().unwrap(),
        "--app",
        &app_url,
    ]);
    let printed = tokio::task::block_in_place(|| harness.until_ready());
    let endpoint = &printed["endpoint"];
    let front = printed["front"].clone();
    assert!(printed["table"].starts_with(TABLE), "{printed:?}");
    assert_eq!(printed["app"], app_url);
    assert_ne!(
        endpoint, &printed["upstream"],
        "the endpoint is the recording proxy"
    );
    let app = App::start(app_listener, endpoint, &printed["region"]).await;
    let browser = Browser {
        http: reqwest::Client::new(),
        front,
    };
    use reqwest::Method;

    // A first visit that only looks: no session, no call (spec C78).
    let (status, body, cookie) = browser.send(Method::GET, "/session", None, None).await;
    assert_eq!((status, &body["id"], &cookie), (200, &Value::Null, &None));
    // A first visit that writes, then a read with the cookie.
    let (status, _, one) = browser
        .send(
            Method::POST,
            "/session/set",
            None,
            Some(json!({"values": {"Foo": "bar"}})),
        )
        .await;
    let one = one.expect("a new session's cookie");
    assert_eq!(status, 200);
    let (_, body, _) = browser
        .send(Method::GET, "/session?tab=1", Some(&one), None)
        .await;
    assert_eq!(body["data"]["Foo"], "bar");
    // A second user.
    let (_, _, two) = browser
        .send(
            Method::POST,
            "/session/set",
            None,
            Some(json!({"values": {"Other": 1}})),
        )
        .await;
    let two = two.expect("the second session's cookie");

    // Overlap, with the contract's holds: A (session one) reads and waits; meanwhile B (session two) writes
    // and C, a second tab of session one, reads; then A is released and writes.
    let held = {
        let http = browser.http.clone();
        let url = format!("{}/session/ops", browser.front);
        let one = one.clone();
        tokio::spawn(async move {
            let response = http
                .post(url)
                .header("Cookie", format!("CAKEPHP={one}"))
                .json(
                    &json!({"ops": [{"op": "read"}, {"op": "hold", "name": "rec"},
                                       {"op": "write", "key": "After", "value": 1}]}),
                )
                .send()
                .await
                .expect("the held request");
            let status = response.status().as_u16();
            response.text().await.expect("the held request's answer");
            status
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body, _) = browser.send(Method::GET, "/hold/rec", None, None).await;
        if body["value"].as_u64().unwrap_or(0) >= 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "request A never reached its hold"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, _, _) = browser
        .send(
            Method::POST,
            "/session/set",
            Some(&two),
            Some(json!({"values": {"During": 1}})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = browser
        .send(Method::GET, "/session", Some(&one), None)
        .await;
    assert_eq!(status, 200);
    let (_, body, _) = browser
        .send(Method::POST, "/hold/rec/release", None, None)
        .await;
    assert_eq!(body["value"], 1);
    assert_eq!(held.await.unwrap(), 200);

    // Logout.
    let (status, body, _) = browser
        .send(Method::POST, "/session/destroy", Some(&one), None)
        .await;
    assert_eq!((status, &body["id"]), (200, &Value::Null));

    // A call outside any request, as a cron gc makes.
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_dynamodb::config::Region::new(
            printed["region"].clone(),
        ))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
        .scan()
        .table_name(TABLE)
        .send()
        .await
        .expect("a scan through the recording proxy");

    let (code, after_ready) = tokio::task::block_in_place(|| harness.interrupt());
    app.stop().await;
    assert_eq!(code, Some(0), "{after_ready:?}");

    // The files.
    let trace_path = record_dir.join("trace.jsonl");
    let trace: Vec<WireRecord> = read_trace(&trace_path).unwrap();
    let requests: Vec<Value> = std::fs::read_to_string(record_dir.join("requests.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let totals = after_ready
        .iter()
        .find(|l| l.starts_with("recorded "))
        .unwrap_or_else(|| panic!("no totals line in {after_ready:?}"));
    assert!(
        totals.contains(&format!(
            "recorded {} HTTP requests and {} DynamoDB calls (2 not attributable to one request)",
            requests.len(),
            trace.len()
        )),
        "{totals}"
    );
    assert!(totals.contains("trace.jsonl") && totals.contains("requests.jsonl"));

    let trace_text = std::fs::read_to_string(&trace_path).unwrap();
    let requests_text = std::fs::read_to_string(record_dir.join("requests.jsonl")).unwrap();
    for sid in [&one, &two] {
        assert!(
            !trace_text.contains(sid.as_str()) && !requests_text.contains(sid.as_str()),
            "a real session id reached the files"
        );
    }
    assert_eq!(
        trace.iter().map(|r| r.i).collect::<Vec<_>>(),
        (1..=trace.len() as u64).collect::<Vec<_>>()
    );
    assert!(trace.iter().all(|r| r.t_unix.is_none() && r.status == 200));

    // One line per request, in order; the polls of the hold touch no session.
    let (polls, lines): (Vec<&Value>, Vec<&Value>) = requests
        .iter()
        .partition(|line| line["path"] == "/hold/rec");
    assert!(!polls.is_empty());
    assert!(polls.iter().all(|poll| strings(&poll["ops"]).is_empty()));
    let steps: Vec<&str> = lines.iter().map(|l| l["step"].as_str().unwrap()).collect();
    let mut expected_steps = vec![
        "GET /session",
        "POST /session/set",
        "GET /session?tab=1",
        "POST /session/set",
        "POST /session/set",
        "GET /session",
        "POST /hold/rec/release",
        "POST /session/ops",
        "POST /session/destroy",
    ];
    // A's line is written when it ends, after the release's (which ends first or at about the same time).
    if steps.get(6) == Some(&"POST /session/ops") {
        expected_steps.swap(6, 7);
    }
    assert_eq!(steps, expected_steps, "{requests_text}");
    for line in &lines {
        assert_eq!(line["status"], 200, "{line}");
        assert!(line["duration_ms"].as_f64().unwrap() >= 0.0);
        assert_eq!(
            line["method"],
            line["step"].as_str().unwrap().split(' ').next().unwrap()
        );
    }
    let line = |step: &str, cookie: bool, nth: usize| -> &Value {
        lines
            .iter()
            .filter(|l| l["step"] == step && l["session_cookie"] == cookie)
            .nth(nth)
            .unwrap_or_else(|| panic!("no line {nth} for {step}: {requests_text}"))
    };
    // Each line's calls are the trace's records of its step, with its ops, in order.
    let ops_of = |l: &Value| -> Vec<String> {
        numbers(&l["calls"])
            .iter()
            .map(|i| {
                let record = &trace[*i as usize - 1];
                assert_eq!(record.step, l["step"].as_str().unwrap(), "record {i}");
                record.op.clone()
            })
            .collect()
    };
    for l in &lines {
        assert_eq!(ops_of(l), strings(&l["ops"]), "{l}");
    }

    // What the contract and the SDK's traces say each request does.
    assert_eq!(
        strings(&line("GET /session", false, 0)["ops"]),
        fixture_ops("a0_view_no_cookie")
    );
    let first = line("POST /session/set", false, 0);
    assert_eq!(
        strings(&first["ops"]),
        fixture_ops("a_first_request_no_cookie")
    );
    assert_eq!(strings(&first["ops"]), ["GetItem", "UpdateItem"]);
    let write = &trace[numbers(&first["calls"])[1] as usize - 1];
    assert_eq!(write.request["Key"]["id"]["S"], "CAKEPHP_<SID1>");
    assert_eq!(
        write.request["AttributeUpdates"]["expires"]["Value"]["N"],
        "<NOW+86400>"
    );
    assert_eq!(
        strings(&line("GET /session?tab=1", true, 0)["ops"]),
        fixture_ops("b1_read_same_second")
    );
    let second = line("POST /session/set", false, 1);
    let second_key = &trace[numbers(&second["calls"])[0] as usize - 1].request["Key"]["id"]["S"];
    assert_eq!(second_key, "CAKEPHP_<SID2>");
    // While A was held: B's calls are B's by its cookie; A's read before the hold and write after are A's.
    let during = line("POST /session/set", true, 0);
    assert_eq!(strings(&during["ops"]), ["GetItem", "UpdateItem"]);
    for i in numbers(&during["calls"]) {
        assert_eq!(
            trace[i as usize - 1].request["Key"]["id"]["S"],
            "CAKEPHP_<SID2>"
        );
    }
    let held_line = line("POST /session/ops", true, 0);
    assert_eq!(strings(&held_line["ops"]), ["GetItem", "UpdateItem"]);
    // C shares A's cookie: its calls could be either's, and say so.
    let tab = line("GET /session", true, 0);
    assert_eq!(strings(&tab["ops"]), Vec::<String>::new());
    assert_eq!(strings(&tab["maybe_ops"]), ["GetItem", "UpdateItem"]);
    assert_eq!(held_line["maybe_calls"], tab["maybe_calls"]);
    for i in numbers(&tab["maybe_calls"]) {
        assert_eq!(
            trace[i as usize - 1].step,
            "POST /session/ops | GET /session"
        );
    }
    assert_eq!(
        strings(&line("POST /session/destroy", true, 0)["ops"]),
        fixture_ops("d_logout_destroy")
    );
    // The scan, after every request had ended.
    let last = trace.last().unwrap();
    assert_eq!(
        (last.op.as_str(), last.step.as_str()),
        ("Scan", "(no request)")
    );
    let attributed: usize = requests
        .iter()
        .map(|l| numbers(&l["calls"]).len())
        .sum::<usize>()
        + numbers(&tab["maybe_calls"]).len()
        + 1;
    assert_eq!(
        attributed,
        trace.len(),
        "every call is on one line, or marked"
    );
}

#[test]
fn an_app_off_this_machine_or_a_used_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let record_dir = dir.path().join("recording");
    let refused = |app: &str, wanted: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_dynamo-harness"))
            .args([
                "backend",
                "up",
                "--record",
                record_dir.to_str().unwrap(),
                "--app",
                app,
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{app}: {stderr}");
        assert!(stderr.contains(wanted), "{app}: no {wanted:?} in {stderr}");
    };
    refused("http://192.0.2.1:8080", "the app must run on this machine");
    refused("https://127.0.0.1:8443", "plain http");
    refused("http://127.0.0.1:8080/registry", "origin only");
    assert!(
        !record_dir.exists(),
        "nothing is created before the checks pass"
    );
    std::fs::create_dir(&record_dir).unwrap();
    std::fs::write(record_dir.join("trace.jsonl"), "").unwrap();
    refused("http://127.0.0.1:8080", "already exists");
}
