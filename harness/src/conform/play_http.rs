//! HTTP-level play: one client per actor (its own cookie jar), on the subject's web app, its table and proxy;
//! `parallel` groups through [`super::group`].

use std::collections::BTreeMap;

use serde_json::Value;

use super::checks::{check_calls, check_table};
use super::http::HttpSession;
use super::mismatch::Findings;
use super::runner::{HarnessError, HttpBackdrop, Played};
use super::substitute::{Substitutions, parse_faults};
use super::timeline::{Timeline, unix_now};
use crate::environment::{Backdrop, table};
use crate::protocol::ClockSpec;
use crate::scenario::{Case, StepOp};
use dynamo_wire::expect::{Bindings, NowWindow};

pub(super) async fn play_http_case(
    case: &Case,
    backdrop: &Backdrop,
    http: &HttpBackdrop<'_>,
) -> Result<Played, HarnessError> {
    let wall_start = unix_now().floor() as i64;
    let subs = Substitutions {
        table: http.table.clone(),
        now: wall_start,
        live_now: true,
    };
    let hash_key = "id";
    table::clear(&backdrop.client, &http.table, hash_key).await?;
    let seeded: Vec<Value> = case.given.items.iter().map(|i| subs.seeded(i)).collect();
    table::put_items(&backdrop.client, &http.table, &seeded).await?;
    http.proxy.take_records();
    http.proxy
        .set_faults(parse_faults(&case.given.faults, &subs)?);
    let mut sessions: BTreeMap<String, HttpSession> = BTreeMap::new();
    let mut findings = Findings::default();
    let mut bindings = Bindings {
        sids: case.given.sids.clone(),
    };
    let mut timeline = Timeline::default();
    for (index, step) in case.steps.iter().enumerate() {
        let label = format!("{}:{}", index + 1, step.op.name());
        http.proxy.set_numbered_step(index + 1, &label);
        timeline.step_begins(ClockSpec::System);
        match &step.op {
            StepOp::Http(request) => {
                let session = sessions.entry(step.actor.clone()).or_insert_with(|| {
                    HttpSession::new(&http.base_url, http.partner_url.as_deref())
                });
                let reply = session.send(request).await?;
                reply.check(step.expect.as_ref(), &label, &mut bindings, &mut findings);
            }
            StepOp::Parallel(members) => {
                let target = super::group::GroupTarget {
                    proxy: http.proxy,
                    base_url: &http.base_url,
                    partner_url: http.partner_url.as_deref(),
                };
                super::group::play(
                    index + 1,
                    members,
                    &target,
                    &mut sessions,
                    &mut bindings,
                    &mut findings,
                )
                .await?;
            }
            StepOp::TtlSweep => {
                table::ttl_sweep(
                    backdrop.sweeper.as_deref(),
                    &backdrop.client,
                    &http.table,
                    hash_key,
                    "expires",
                    unix_now().floor() as i64,
                )
                .await?;
            }
            StepOp::Seed { items } => {
                let items: Vec<Value> = items
                    .iter()
                    .map(|i| subs.seeded_with(i, &bindings))
                    .collect();
                table::put_items(&backdrop.client, &http.table, &items).await?;
            }
            other => {
                return Err(HarnessError(format!(
                    "step {label}: `{}` is a handler operation; HTTP cases use `http` steps",
                    other.name()
                )));
            }
        }
    }
    http.proxy.set_faults(Vec::new());
    let records = table::unscoped(http.proxy.take_records());
    check_calls(
        case,
        &subs,
        &records,
        &timeline,
        &mut bindings,
        &mut findings,
    )?;
    let wall_end = unix_now().floor() as i64;
    let window = NowWindow {
        earliest: wall_start,
        latest: wall_end,
    };
    check_table(
        case,
        backdrop,
        &http.table,
        hash_key,
        &subs,
        window,
        &mut bindings,
        &mut findings,
    )
    .await?;
    Ok(Played {
        findings: findings.into_vec(),
        records,
        returns: Vec::new(),
    })
}
