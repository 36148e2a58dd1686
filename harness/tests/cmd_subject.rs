//! The `cmd:NAME=COMMAND` subject end to end, through the binary: the reference handler behind the protocol
//! (`dynamo-harness worker`) gives the same result per case as the in-process `rust` subject; programs that fail
//! the handshake, answer garbage or die mid-case are named in the results and the run still finishes.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const HARNESS: &str = env!("CARGO_BIN_EXE_dynamo-harness");

const HELLO: &str = r#"{"value":{"name":"script","version":"0","protocol":1,"can":{"freeze_clock":true,"move_clock":true}},"warnings":[],"exception":null}"#;

/// `word` quoted for the subject's shell-like word splitting.
fn quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

fn conform(subjects: &str, filter: &[&str], report: &Path) -> (Output, Value) {
    let mut command = Command::new(HARNESS);
    command
        .args(["conform", "--subjects", subjects])
        .args(filter);
    let output = command
        .arg("--report")
        .arg(report)
        .output()
        .expect("the harness runs");
    let results = std::fs::read(report.join("results.json")).unwrap_or_else(|e| {
        panic!(
            "no results.json ({e}); stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output, serde_json::from_slice(&results).unwrap())
}

/// (subject, case id) -> the case's result.
fn by_subject(results: &Value) -> BTreeMap<(String, String), Value> {
    results["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            (
                (
                    case["subject"].as_str().unwrap().to_owned(),
                    case["id"].as_str().unwrap().to_owned(),
                ),
                case.clone(),
            )
        })
        .collect()
}

fn describe(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_worker_behind_the_protocol_matches_the_in_process_handler() {
    let report = tempfile::tempdir().unwrap();
    let subjects = format!("rust,cmd:rust-worker={} worker", quoted(HARNESS));
    let (output, results) = conform(&subjects, &["--group", "A"], report.path());
    let found = by_subject(&results);
    let rust: Vec<_> = found.iter().filter(|((s, _), _)| s == "rust").collect();
    assert!(
        rust.len() >= 10,
        "group A has its cases; {}",
        describe(&output)
    );
    for ((_, id), case) in rust {
        let worker = found
            .get(&("rust-worker".to_owned(), id.clone()))
            .unwrap_or_else(|| panic!("{id} has no rust-worker result; {}", describe(&output)));
        assert_eq!(
            (&worker["status"], &worker["reason"]),
            (&case["status"], &case["reason"]),
            "{id}: rust-worker differs from rust; {}",
            describe(&output)
        );
    }
    assert!(
        found
            .iter()
            .any(|((s, _), case)| s == "rust-worker" && case["status"] == "pass"),
        "the worker ran cases; {}",
        describe(&output)
    );
    let junit = std::fs::read_to_string(report.path().join("junit.xml")).unwrap();
    assert!(
        junit.contains(r#"<testsuite name="rust-worker on dynoxide""#),
        "{junit}"
    );
}

#[test]
fn programs_that_break_the_protocol_are_named_and_the_run_goes_on() {
    let scripts = tempfile::tempdir().unwrap();
    // Answers hello, then garbage to whatever comes next.
    let garbage = scripts.path().join("garbage.sh");
    std::fs::write(
        &garbage,
        format!(
            "read -r line\ncase \"$line\" in\n  *hello*) printf '%s\\n' '{HELLO}' ;;\n  *) echo 'this is not json' ;;\nesac\ncat >/dev/null\n"
        ),
    )
    .unwrap();
    // Answers hello; as a driver, answers new_handler and dies at the next request.
    let crash = scripts.path().join("crash.sh");
    std::fs::write(
        &crash,
        format!(
            "read -r line\ncase \"$line\" in\n  *hello*) printf '%s\\n' '{HELLO}'; cat >/dev/null; exit 0 ;;\nesac\n\
             printf '%s\\n' '{{\"value\":true,\"warnings\":[],\"exception\":null}}'\n\
             read -r line\necho \"crash.sh: giving up on $line\" >&2\nexit 7\n"
        ),
    )
    .unwrap();
    let subjects = [
        "rust".to_owned(),
        "cmd:broken=false".to_owned(),
        "cmd:notjson=sh -c 'echo notjson'".to_owned(),
        "cmd:missing=/nonexistent/dynamo-worker".to_owned(),
        format!("cmd:garbage=sh {}", quoted(garbage.to_str().unwrap())),
        format!("cmd:crash=sh {}", quoted(crash.to_str().unwrap())),
    ]
    .join(",");
    let report = tempfile::tempdir().unwrap();
    let (output, results) = conform(&subjects, &["--filter", "C01,C01-defaults"], report.path());
    // garbage and crash fail their cases (as harness errors); everything else passes or skips.
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let found = by_subject(&results);
    assert_eq!(found.len(), 12, "{}", describe(&output));
    let case = |subject: &str, id: &str| &found[&(subject.to_owned(), id.to_owned())];
    let reason = |subject: &str, id: &str| case(subject, id)["reason"].as_str().unwrap().to_owned();
    for id in ["C01", "C01-defaults"] {
        assert_eq!(case("rust", id)["status"], "pass", "{}", describe(&output));

        for subject in ["broken", "notjson", "missing"] {
            assert_eq!(case(subject, id)["status"], "skip", "{subject} {id}");
        }
        let broken = reason("broken", id);
        assert!(
            broken.starts_with("subject broken (`false`) failed the hello handshake: ")
                && broken.contains("the process stopped (exit status: 1) before answering hello"),
            "{broken}"
        );
        let notjson = reason("notjson", id);
        assert!(
            notjson.starts_with(
                "subject notjson (`sh -c 'echo notjson'`) failed the hello handshake: "
            ) && notjson.contains(r#"answered {"op":"hello"} with "notjson""#),
            "{notjson}"
        );
        let missing = reason("missing", id);
        assert!(
            missing.starts_with(
                "subject missing (`/nonexistent/dynamo-worker`) failed the hello handshake: "
            ) && missing.contains("cannot start \"/nonexistent/dynamo-worker\""),
            "{missing}"
        );

        for subject in ["garbage", "crash"] {
            assert_eq!(case(subject, id)["status"], "fail", "{subject} {id}");
            assert_eq!(case(subject, id)["blame"], "harness", "{subject} {id}");
        }
        let garbage = reason("garbage", id);
        assert!(
            garbage.contains("subject garbage (`sh ")
                && garbage.contains(r#"answered new_handler with "this is not json""#),
            "{garbage}"
        );
        let crash = reason("crash", id);
        assert!(
            crash.contains("subject crash (`sh ")
                && crash.contains("the process stopped (exit status: 7) before answering open")
                && crash.contains("crash.sh: giving up on {\"op\":\"open\""),
            "{crash}"
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("failed the hello handshake"), "{stdout}");
}
