//! A profile's scenarios as goose scenarios: each kind a set of small named transactions
//! ([`super::transactions`]), weighted as the profile's `mix` says.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use goose::goose::{GooseUser, Scenario, Transaction, TransactionFunction, TransactionResult};

use super::profile::{Profile, ScenarioKind, ScenarioSpec};
use super::transactions::{self as tx, Shared};

/// A transaction body that also gets the run's shared state.
type Body = for<'a> fn(
    &'a mut GooseUser,
    &'a Shared,
) -> Pin<Box<dyn Future<Output = TransactionResult> + Send + 'a>>;

/// Wraps `body` as a named goose transaction holding `shared`.
fn transaction(name: &str, shared: &Arc<Shared>, body: Body) -> Transaction {
    let shared = Arc::clone(shared);
    let function: TransactionFunction = Arc::new(move |user| {
        let shared = Arc::clone(&shared);
        Box::pin(async move { body(user, &shared).await })
    });
    Transaction::new(function).set_name(name)
}

/// The transaction a kind's step name stands for.
fn body_of(kind: ScenarioKind, step: &str) -> Body {
    match (kind, step) {
        (ScenarioKind::Browse, "read") | (ScenarioKind::LoginChurn, "read") => {
            |u, s| Box::pin(tx::read(u, s))
        }
        (ScenarioKind::Browse, "write") => |u, s| Box::pin(tx::write(u, s)),
        (ScenarioKind::LoginChurn, "login") => |u, s| Box::pin(tx::churn_login(u, s)),
        (ScenarioKind::LoginChurn, "renew") => |u, s| Box::pin(tx::renew(u, s)),
        (ScenarioKind::LoginChurn, "logout") => |u, s| Box::pin(tx::logout(u, s)),
        (ScenarioKind::HotSession, "increment") => |u, s| Box::pin(tx::increment(u, s)),
        (ScenarioKind::Gc, "gc") => |u, s| Box::pin(tx::gc(u, s)),
        (kind, step) => unreachable!(
            "profile validation admits only known steps; {step} of {}",
            kind.as_str()
        ),
    }
}

/// Goose scenarios for every scenario of the profile.
pub fn build(profile: &Profile, shared: &Arc<Shared>) -> Result<Vec<Scenario>, goose::GooseError> {
    let mut scenarios = Vec::with_capacity(profile.scenarios.len());
    for (index, spec) in profile.scenarios.iter().enumerate() {
        // Goose needs distinct scenario names; a kind listed twice gets its position appended.
        let twice = profile
            .scenarios
            .iter()
            .filter(|s| s.kind == spec.kind)
            .count()
            > 1;
        let name = match twice {
            true => format!("{}-{}", spec.kind.as_str(), index + 1),
            false => spec.kind.as_str().to_owned(),
        };
        scenarios.push(scenario(&name, spec, shared)?);
    }
    Ok(scenarios)
}

fn scenario(
    name: &str,
    spec: &ScenarioSpec,
    shared: &Arc<Shared>,
) -> Result<Scenario, goose::GooseError> {
    let mut scenario = Scenario::new(name).set_weight(spec.weight)?;
    if let Some([min, max]) = spec.wait_ms
        && max > 0
    {
        scenario =
            scenario.set_wait_time(Duration::from_millis(min), Duration::from_millis(max))?;
    }
    if spec.kind == ScenarioKind::Browse {
        // A browsing user logs in once, when it starts.
        scenario = scenario.register_transaction(
            transaction("login", shared, |u, s| Box::pin(tx::login(u, s))).set_on_start(),
        );
    }
    for (position, (step, weight)) in Profile::weights(spec).into_iter().enumerate() {
        if weight == 0 {
            continue;
        }
        let mut transaction =
            transaction(step, shared, body_of(spec.kind, step)).set_weight(weight)?;
        if spec.kind == ScenarioKind::LoginChurn {
            // The steps of a churn pass run in order; the weight repeats a step within its place.
            transaction = transaction.set_sequence(position + 1);
        }
        scenario = scenario.register_transaction(transaction);
    }
    Ok(scenario)
}
