//! `http:NAME=URL`: a web app someone else runs, speaking the HTTP contract (docs/seams.md, version 1), on its
//! own table. The harness reaches that table for seeds and checks (`--backend endpoint --table NAME`), but not
//! the app's DynamoDB calls nor its configuration, so the cases that need either are skipped with the reason.

use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;

use super::{HandlerDriver, Level, Subject};
use crate::scenario::{AppGiven, Case, StepOp, WaitFor};

pub const PREFIX: &str = "http:";

pub fn is_external(spec: &str) -> bool {
    spec.starts_with(PREFIX)
}

/// A parsed `http:NAME=URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalSpec {
    /// The report name.
    pub name: String,
    /// The app's base URL, without a trailing slash.
    pub url: String,
}

impl ExternalSpec {
    /// Parses `http:NAME=URL`; the error says what is wrong.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (name, url) = super::named_spec(spec, PREFIX, "URL")?;
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| format!("`{spec}`: URL {url:?} is not a URL ({e})"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(format!(
                "`{spec}`: URL {url:?}: expected http://HOST[:PORT] or https://HOST"
            ));
        }
        Ok(ExternalSpec {
            name: name.to_owned(),
            url: url.trim_end_matches('/').to_owned(),
        })
    }

    /// `http:NAME`, as messages name it.
    pub fn label(&self) -> String {
        format!("{PREFIX}{}", self.name)
    }
}

/// What the run knows about the app: what it answered, and what the command line says it runs with.
#[derive(Debug, Clone)]
pub struct ExternalApp {
    spec: ExternalSpec,
    /// `--locking`: whether the app runs its handler in locking mode.
    locking: bool,
    /// Whether it answers `GET /hold/N` (holds are for tests; a deployment may lack them).
    holds: bool,
}

/// How long the first requests may take before the app counts as unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

impl ExternalApp {
    /// Asks the app for `GET /health` (it must answer `{"ok": true}`) and `GET /hold/probe` (whether it has
    /// holds). An app that does not answer is an error naming the subject: the run cannot stand for it.
    pub async fn probe(spec: &ExternalSpec, locking: bool) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(PROBE_TIMEOUT)
            .build()
            .context("building an HTTP client")?;
        let health = format!("{}/health", spec.url);
        let answer =
            client.get(&health).send().await.with_context(|| {
                format!("subject {}: GET {health} did not answer", spec.label())
            })?;
        let status = answer.status();
        let body: serde_json::Value = answer.json().await.unwrap_or_default();
        if !status.is_success() || body.get("ok") != Some(&serde_json::Value::Bool(true)) {
            anyhow::bail!(
                "subject {}: GET {health} answered {status} {body}, not {{\"ok\": true}}: is it an app speaking \
                 the HTTP contract (docs/seams.md)?",
                spec.label()
            );
        }
        let holds = client
            .get(format!("{}/hold/probe", spec.url))
            .send()
            .await
            .is_ok_and(|answer| answer.status().is_success());
        Ok(ExternalApp {
            spec: spec.clone(),
            locking,
            holds,
        })
    }
}

#[async_trait]
impl Subject for ExternalApp {
    fn name(&self) -> &str {
        &self.spec.name
    }

    fn unsupported(&self, level: Level) -> Option<String> {
        (level == Level::Handler).then(|| {
            format!(
                "{} is a web app; handler-level cases need a handler subject",
                self.spec.label()
            )
        })
    }

    fn skip_reason_for(&self, case: &Case) -> Option<String> {
        let label = self.spec.label();
        let wanted = AppGiven {
            locking: case.given.app.locking.filter(|l| *l != self.locking),
            ..case.given.app.clone()
        };
        if wanted != AppGiven::default() {
            return Some(format!(
                "needs the app run with another configuration (given.app: {}); {label} runs its own, which the \
                 harness did not start",
                describe(&wanted)
            ));
        }
        let waits_for_calls = case.steps.iter().any(|step| match &step.op {
            StepOp::Parallel(members) => members
                .iter()
                .any(|m| matches!(m.op, StepOp::Wait(WaitFor::Calls(_)))),
            _ => false,
        });
        if waits_for_calls {
            return Some(format!(
                "waits for the app's DynamoDB calls, which {label} makes straight to its table, out of the \
                 harness's sight"
            ));
        }
        if !case.given.faults.is_empty() {
            return Some(format!(
                "injects faults between the app and DynamoDB, a wire {label} does not go through"
            ));
        }
        let uses_holds = case.steps.iter().any(|step| {
            matches!(step.op, StepOp::Parallel(_))
                || step.http_requests().any(|request| {
                    request.body.as_ref().is_some_and(|body| {
                        body.get("ops")
                            .and_then(serde_json::Value::as_array)
                            .is_some_and(|ops| ops.iter().any(|op| op["op"] == "hold"))
                    })
                })
        });
        if uses_holds && !self.holds {
            return Some(format!(
                "needs holds (GET /hold/N, docs/seams.md), which {label} does not answer"
            ));
        }
        None
    }

    async fn driver(&self) -> anyhow::Result<Box<dyn HandlerDriver>> {
        anyhow::bail!("{} has no handler-level face", self.spec.label())
    }

    fn implementation(&self) -> Option<String> {
        Some(format!(
            "web app at {} (its DynamoDB calls are out of sight: not checked)",
            self.spec.url
        ))
    }

    fn http_base_url(&self) -> Option<String> {
        Some(self.spec.url.clone())
    }
}

/// `case` without its checks of DynamoDB calls: an app the harness did not start makes them straight to its
/// table, so the run sees none; the steps' answers and the table are still checked.
pub fn without_call_checks(case: &Case) -> Case {
    let mut case = case.clone();
    case.expect.calls = None;
    case.expect.calls_trace = None;
    case.expect.calls_count = None;
    for deviation in case.deviations.values_mut() {
        deviation.expect.calls = None;
        deviation.expect.calls_trace = None;
        deviation.expect.calls_count = None;
    }
    for step in &mut case.steps {
        without_step_calls(step);
    }
    case
}

fn without_step_calls(step: &mut crate::scenario::Step) {
    if let Some(expect) = &mut step.expect {
        expect.calls = None;
        expect.calls_trace = None;
    }
    if let StepOp::Parallel(members) = &mut step.op {
        members.iter_mut().for_each(without_step_calls);
    }
}

/// The parts of a `given.app` a case sets, in short.
fn describe(app: &AppGiven) -> String {
    let mut parts = Vec::new();
    if let Some(locking) = app.locking {
        parts.push(format!("locking {locking}"));
    }
    if !app.session.is_empty() {
        parts.push(format!(
            "session {}",
            serde_json::Value::Object(app.session.clone())
        ));
    }
    if !app.ini.is_empty() {
        parts.push(format!("ini {:?}", app.ini));
    }
    if !app.env.is_empty() {
        let names: Vec<&str> = app.env.keys().map(String::as_str).collect();
        parts.push(format!("env {}", names.join(", ")));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_with_reasons() {
        let spec = ExternalSpec::parse("http:mine=http://127.0.0.1:8080/").unwrap();
        assert_eq!(
            (spec.name.as_str(), spec.url.as_str()),
            ("mine", "http://127.0.0.1:8080")
        );
        assert_eq!(spec.label(), "http:mine");
        for bad in [
            "http:mine",
            "http:=http://x",
            "http:rust-http=http://x",
            "http:mine=ftp://x",
            "http:mine=nowhere",
        ] {
            assert!(ExternalSpec::parse(bad).is_err(), "{bad}");
        }
    }
}
