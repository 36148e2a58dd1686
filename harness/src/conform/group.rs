//! `parallel` groups: HTTP requests in flight at the same time, lined up by the apps' holds rather than by
//! timing (docs/seams.md, "Holds").
//!
//! Members run in order: an `http` member is sent and left running, a `wait` member polls for its condition
//! against a deadline, a `release` member lets a hold go. When the list is done the runner collects every answer,
//! checks each member's expectations, and only then hands the session cookies back to their actors, in member
//! order, as a browser's cookie jar would take the responses.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::http::{HttpReply, HttpSession};
use super::mismatch::{Aspect, Findings};
use crate::scenario::{HttpRequest, Step, StepOp, WaitFor};
use dynamo_wire::WireProxy;
use dynamo_wire::expect::Bindings;

/// How long a `wait` member waits: the apps' hold timeout, so a hold never outlives the wait for it.
const WAIT_DEADLINE: Duration = Duration::from_secs(10);
/// How long the group waits for its requests' answers once its members are done: a forgotten hold ends with
/// the app's 504 after the hold timeout, well within this.
const ANSWER_DEADLINE: Duration = Duration::from_secs(20);
/// Between two looks at a condition. Polling, not sleeping to line things up: each look checks the condition.
const POLL_EVERY: Duration = Duration::from_millis(5);

type Answer = (HttpSession, anyhow::Result<HttpReply>);

/// A request sent by the group, not yet collected.
struct InFlight {
    member: usize,
    actor: String,
    handle: Option<JoinHandle<Answer>>,
    answer: Option<Answer>,
}

/// Where the group's requests go and what it may look at.
pub struct GroupTarget<'a> {
    pub proxy: &'a WireProxy,
    pub base_url: &'a str,
    pub partner_url: Option<&'a str>,
}

/// Plays the group at step `number` (1-based). Mismatches go to `findings`; an `Err` is the harness failing.
pub async fn play(
    number: usize,
    members: &[Step],
    target: &GroupTarget<'_>,
    sessions: &mut BTreeMap<String, HttpSession>,
    bindings: &mut Bindings,
    findings: &mut Findings,
) -> anyhow::Result<()> {
    let control = HttpSession::new(target.base_url, None);
    let calls_before = target.proxy.records().len();
    let mut in_flight: Vec<InFlight> = Vec::new();
    let mut gave_up = false;
    for (index, member) in members.iter().enumerate() {
        let label = format!("{number}.{}:{}", index + 1, member.op.name());
        match &member.op {
            StepOp::Http(request) => {
                let mut session = sessions
                    .entry(member.actor.clone())
                    .or_insert_with(|| HttpSession::new(target.base_url, target.partner_url))
                    .clone();
                let request: HttpRequest = request.clone();
                let handle = tokio::spawn(async move {
                    let reply = session.send(&request).await;
                    (session, reply)
                });
                in_flight.push(InFlight {
                    member: index,
                    actor: member.actor.clone(),
                    handle: Some(handle),
                    answer: None,
                });
            }
            StepOp::Wait(_) | StepOp::Release { .. } if gave_up => {}
            StepOp::Wait(WaitFor::Answered(actor)) => {
                let Some(request) = in_flight
                    .iter_mut()
                    .rev()
                    .find(|r| &r.actor == actor && r.answer.is_none())
                else {
                    anyhow::bail!("step {label}: no request `as: {actor}` is in flight");
                };
                if let Some(handle) = request.handle.take() {
                    match tokio::time::timeout(WAIT_DEADLINE, handle).await {
                        Ok(answer) => request.answer = Some(answer?),
                        Err(_) => {
                            findings.at(
                                &label,
                                Aspect::Wait,
                                format!(
                                    "`{actor}` had not answered after {} s",
                                    WAIT_DEADLINE.as_secs()
                                ),
                            );
                            gave_up = true;
                        }
                    }
                }
            }
            StepOp::Wait(condition) => {
                let started = Instant::now();
                while !met(condition, &control, target.proxy, calls_before).await? {
                    if started.elapsed() > WAIT_DEADLINE {
                        findings.at(
                            &label,
                            Aspect::Wait,
                            format!(
                                "waited {} s for {} (calls so far: {})",
                                WAIT_DEADLINE.as_secs(),
                                describe(condition),
                                target.proxy.records().len() - calls_before
                            ),
                        );
                        gave_up = true;
                        break;
                    }
                    tokio::time::sleep(POLL_EVERY).await;
                }
            }
            StepOp::Release { hold } => release(&control, hold).await?,
            other => anyhow::bail!("step {label}: `{}` in a parallel group", other.name()),
        }
    }
    if gave_up {
        // Let every hold the group names go, so that held requests answer now instead of at their timeout.
        for member in members {
            if let StepOp::Release { hold } = &member.op {
                release(&control, hold).await?;
            }
        }
    }
    for request in &mut in_flight {
        if let Some(handle) = request.handle.take() {
            match tokio::time::timeout(ANSWER_DEADLINE, handle).await {
                Ok(answer) => request.answer = Some(answer?),
                Err(_) => findings.at(
                    &format!("{number}.{}:http", request.member + 1),
                    Aspect::Wait,
                    format!("no answer within {} s", ANSWER_DEADLINE.as_secs()),
                ),
            }
        }
    }
    for request in in_flight {
        let Some((session, reply)) = request.answer else {
            continue;
        };
        let label = format!("{number}.{}:http", request.member + 1);
        let reply = reply.map_err(|e| anyhow::anyhow!("step {label}: {e:#}"))?;
        reply.check(
            members[request.member].expect.as_ref(),
            &label,
            bindings,
            findings,
        );
        sessions
            .entry(request.actor)
            .or_insert(session)
            .absorb(&reply.cookie);
    }
    Ok(())
}

async fn met(
    condition: &WaitFor,
    control: &HttpSession,
    proxy: &WireProxy,
    calls_before: usize,
) -> anyhow::Result<bool> {
    Ok(match condition {
        WaitFor::Held(hold) => {
            let reply = control.get(&format!("/hold/{hold}")).await?;
            reply.body.get("value").and_then(serde_json::Value::as_u64) >= Some(1)
        }
        WaitFor::Calls(n) => proxy.records().len() - calls_before >= *n,
        WaitFor::Answered(_) => unreachable!("an answer is awaited, not polled"),
    })
}

async fn release(control: &HttpSession, hold: &str) -> anyhow::Result<()> {
    let reply = control.post(&format!("/hold/{hold}/release")).await?;
    anyhow::ensure!(
        reply.status == 200,
        "POST /hold/{hold}/release answered {}: {}",
        reply.status,
        reply.body
    );
    Ok(())
}

fn describe(condition: &WaitFor) -> String {
    match condition {
        WaitFor::Held(hold) => format!("a request held at `{hold}`"),
        WaitFor::Calls(n) => format!("{n} DynamoDB call(s) since the group began"),
        WaitFor::Answered(actor) => format!("`{actor}`'s answer"),
    }
}
