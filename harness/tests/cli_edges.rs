//! The command line at its edges, on the built binary: out-of-range numbers, malformed URLs, real AWS without
//! the confirmation, an empty scenario folder, a ramp-up that dwarfs the load, an error's cause printed once,
//! Ctrl-C (exit 130; conform still writes the partial report), and an endpoint behind TLS with `--ca-file`.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn harness() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dynamo-harness"));
    command
        .env_remove("COMANAGE_REGISTRY_DYNAMODB_ENDPOINT")
        .env_remove("DYNAMO_HARNESS_YES_REAL_AWS")
        .env_remove("DYNAMO_HARNESS_CA_FILE");
    command
}

fn run(args: &[&str], cwd: &Path) -> Output {
    harness().args(args).current_dir(cwd).output().unwrap()
}

fn refused(args: &[&str], wanted: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let output = run(args, dir.path());
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    for text in wanted {
        assert!(stderr.contains(text), "{args:?}: no {text:?} in {stderr}");
    }
    stderr
}

#[test]
fn out_of_range_numbers_are_refused_with_a_message() {
    refused(
        &[
            "load",
            "--subject",
            "rust-http",
            "--profile",
            "browse",
            "--duration",
            "18446744073709551615",
        ],
        &["--duration", "is not in 1..=604800"],
    );
    refused(
        &[
            "load",
            "--subject",
            "rust-http",
            "--profile",
            "browse",
            "--request-timeout",
            "18446744073709551615",
        ],
        &["--request-timeout", "is not in 1..=3600"],
    );
    refused(
        &["compare", "--profile", "browse", "--duration", "0"],
        &["--duration", "is not in 1..=604800"],
    );
}

#[test]
fn malformed_endpoints_and_real_aws_are_refused() {
    for command in ["conform", "load"] {
        let mut args = vec![command, "--backend", "endpoint", "--endpoint", "notaurl"];
        if command == "load" {
            args.extend(["--subject", "rust-http", "--profile", "browse"]);
        }
        refused(&args, &["--endpoint \"notaurl\"", "not a URL"]);
        let mut args = vec![
            command,
            "--backend",
            "endpoint",
            "--endpoint",
            "https://dynamodb.us-east-1.amazonaws.com",
        ];
        if command == "load" {
            args.extend(["--subject", "rust-http", "--profile", "browse"]);
        }
        refused(&args, &["refusing", "--yes-real-aws"]);
    }
    refused(
        &[
            "conform",
            "--backend",
            "endpoint",
            "--endpoint",
            "localhost:8000",
        ],
        &["not http or https"],
    );
}

#[test]
fn an_empty_scenario_folder_says_so_and_a_cause_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("my-cases");
    std::fs::create_dir(&empty).unwrap();
    let empty = empty.to_str().unwrap().to_owned();
    refused(
        &["conform", "--no-builtin", "--scenarios", &empty],
        &["my-cases: the folder is empty"],
    );
    let missing = dir.path().join("no-such-folder");
    let stderr = refused(
        &["conform", "--scenarios", missing.to_str().unwrap()],
        &["no-such-folder"],
    );
    let cause = std::io::Error::from_raw_os_error(libc::ENOENT).to_string();
    assert_eq!(stderr.matches(&cause).count(), 1, "{stderr}");
}

#[test]
fn a_ramp_up_far_longer_than_the_load_is_refused() {
    refused(
        &[
            "load",
            "--subject",
            "rust-http",
            "--profile",
            "browse",
            "--users",
            "20000",
            "--duration",
            "2",
        ],
        &["refused", "20000 users", "2500 s", "--users"],
    );
}

/// A child whose stderr lines arrive on a channel, for waiting until it reaches a phase.
struct Watched {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Watched {
    fn start(args: &[&str], cwd: &Path) -> Watched {
        let mut child = harness()
            .args(args)
            .current_dir(cwd)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watched {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (at most 60 s) for a stderr line containing `text`.
    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    let hit = line.contains(text);
                    self.seen.push(line);
                    if hit {
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!("no {text:?} on stderr; saw:\n{}", self.seen.join("\n"));
    }

    fn interrupt(&self) {
        // SAFETY: kill(2) on our own child, which has not been reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
    }

    /// The exit code and the rest of stderr.
    fn finish(mut self) -> (Option<i32>, String) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "still running 30 s after Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        self.seen.extend(self.lines.try_iter());
        (status.code(), self.seen.join("\n"))
    }
}

#[test]
fn ctrl_c_stops_conform_with_130_and_a_partial_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = Watched::start(
        &["conform", "--jobs", "1", "--report", "partial"],
        dir.path(),
    );
    run.wait_for("backend dynoxide: up");
    std::thread::sleep(Duration::from_millis(500));
    run.interrupt();
    let (code, stderr) = run.finish();
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted (Ctrl-C): the report holds the"),
        "{stderr}"
    );
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("partial/results.json")).unwrap(),
    )
    .unwrap();
    let count = results
        .as_array()
        .or_else(|| results.get("results").and_then(|r| r.as_array()))
        .map_or(0, Vec::len);
    assert!(
        count < dynamo_harness::assets::catalogue_cases(),
        "{count} results: the run was not cut short"
    );
    assert!(dir.path().join("partial/junit.xml").is_file());
}

#[test]
fn ctrl_c_stops_load_with_130_in_set_up_and_under_load() {
    let dir = tempfile::tempdir().unwrap();
    // Under load: goose has taken the signal over; the points that ran are reported.
    let mut run = Watched::start(
        &[
            "load",
            "--subject",
            "rust-http",
            "--profile",
            "browse",
            "--duration",
            "30",
            "--report",
            "under",
        ],
        dir.path(),
    );
    run.wait_for("req/s");
    run.interrupt();
    let (code, stderr) = run.finish();
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted (Ctrl-C): the report holds the points that ran"),
        "{stderr}"
    );
    assert!(dir.path().join("under/summary.json").is_file());

    // In set-up (the backend and the subject starting, before goose takes the signal over): the points are
    // skipped and reported as interrupted.
    let mut run = Watched::start(
        &[
            "load",
            "--subject",
            "rust-http",
            "--profile",
            "browse",
            "--duration",
            "30",
            "--report",
            "early",
        ],
        dir.path(),
    );
    run.wait_for("backend dynoxide: starting");
    run.interrupt();
    let (code, stderr) = run.finish();
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted (Ctrl-C): stopping"),
        "{stderr}"
    );
    let summary = std::fs::read_to_string(dir.path().join("early/summary.json")).unwrap();
    assert!(summary.contains("interrupted"), "{summary}");
}

mod tls {
    //! `conform --backend endpoint` on an https endpoint with a test CA: the endpoint backend's own SDK calls
    //! and the wire proxy's upstream both trust `--ca-file`; without it the endpoint is refused.

    use std::net::SocketAddr;
    use std::sync::Arc;

    use dynamo_backends::{BackendKind, shared_backend};
    use tokio::net::{TcpListener, TcpStream};
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::rustls;

    /// Serves TLS for localhost with a fresh CA in front of `upstream`; returns its port and the CA's PEM.
    async fn tls_front(upstream: SocketAddr) -> (u16, String) {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "dynamo-harness test CA");
        let ca =
            rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
                .unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
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
        (port, ca.pem())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn conform_on_an_https_endpoint_with_a_ca_file() {
        let backend = shared_backend(BackendKind::Dynoxide).await.unwrap();
        let upstream: SocketAddr = backend
            .endpoint_url()
            .trim_start_matches("http://")
            .parse()
            .unwrap();
        let (port, ca_pem) = tls_front(upstream).await;
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca_pem).unwrap();
        let endpoint = format!("https://localhost:{port}");
        let cwd = dir.path().to_owned();
        let conform = move |with_ca: bool| {
            let mut command = super::harness();
            command
                .args(["conform", "--backend", "endpoint", "--endpoint", &endpoint])
                .args(["--filter", "C01,C02,C03", "--report", "tls"])
                .current_dir(&cwd);
            if with_ca {
                command.arg("--ca-file").arg(&ca_file);
            }
            command.output().unwrap()
        };
        let output = tokio::task::spawn_blocking(move || (conform(true), conform(false)))
            .await
            .unwrap();
        let (trusted, untrusted) = output;
        let stdout = String::from_utf8_lossy(&trusted.stdout);
        assert_eq!(
            trusted.status.code(),
            Some(0),
            "{stdout}\n{}",
            String::from_utf8_lossy(&trusted.stderr)
        );
        assert!(stdout.contains("3 passed, 0 failed"), "{stdout}");
        let stderr = String::from_utf8_lossy(&untrusted.stderr);
        assert_eq!(untrusted.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("did not answer"), "{stderr}");
    }
}
