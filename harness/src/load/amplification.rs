//! Lock-storm amplification: what the SDK's locking costs in DynamoDB calls when requests contend for one
//! session. With locking, a read takes the lock with a conditional UpdateItem and, finding it taken, waits and
//! tries again (spec §1.7), so under contention (the hot-session profile) every successful request carries a
//! train of ConditionalCheckFailed answers. The figure is calls per successful request with locking ÷ without,
//! for the same subject and user count in the same run.

use serde::{Deserialize, Serialize};

use super::profile::ScenarioKind;
use super::run::{LoadReport, RunRecord, RunStatus};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Amplification {
    pub subject: String,
    pub users: usize,
    /// DynamoDB calls per successful request, without and with locking.
    pub calls_per_ok_unlocked: f64,
    pub calls_per_ok_locked: f64,
    /// ConditionalCheckFailed answers per successful request, without and with locking.
    pub ccf_per_ok_unlocked: f64,
    pub ccf_per_ok_locked: f64,
    /// `calls_per_ok_locked ÷ calls_per_ok_unlocked`; `None` when the run without locking made no calls.
    pub factor: Option<f64>,
}

/// (calls, ConditionalCheckFailed answers) per successful request of a point the proxy saw.
fn per_ok(record: &RunRecord) -> Option<(f64, f64)> {
    if record.status != RunStatus::Ran {
        return None;
    }
    let wire = record.wire.as_ref()?;
    let ok = record.requests_total.saturating_sub(record.failures_total);
    (ok > 0).then(|| {
        (
            wire.calls as f64 / ok as f64,
            wire.conditional_check_failed() as f64 / ok as f64,
        )
    })
}

/// Every subject × users that ran both without and with locking.
pub fn pairs(report: &LoadReport) -> Vec<Amplification> {
    report
        .runs
        .iter()
        .filter(|r| r.locking)
        .filter_map(|locked| {
            let unlocked = report
                .runs
                .iter()
                .find(|r| !r.locking && r.subject == locked.subject && r.users == locked.users)?;
            let (calls_on, ccf_on) = per_ok(locked)?;
            let (calls_off, ccf_off) = per_ok(unlocked)?;
            Some(Amplification {
                subject: locked.subject.clone(),
                users: locked.users,
                calls_per_ok_unlocked: calls_off,
                calls_per_ok_locked: calls_on,
                ccf_per_ok_unlocked: ccf_off,
                ccf_per_ok_locked: ccf_on,
                factor: (calls_off > 0.0).then(|| calls_on / calls_off),
            })
        })
        .collect()
}

/// One named figure per subject, its worst user count: `lock-storm amplification: ×4.2 calls per request
/// (rust-http, 8 users: 12.60 DynamoDB calls and 3.10 ConditionalCheckFailed per successful request with
/// locking, 3.00 and 0.00 without)`. "Lock-storm" where the profile makes requests contend for one session.
pub fn headlines(report: &LoadReport) -> Vec<String> {
    let label = match report.profile.has(ScenarioKind::HotSession) {
        true => "lock-storm amplification",
        false => "locking amplification (no shared session in this profile)",
    };
    let mut subjects: Vec<&str> = report
        .amplification
        .iter()
        .map(|a| a.subject.as_str())
        .collect();
    subjects.dedup();
    subjects
        .into_iter()
        .filter_map(|subject| {
            let worst = report
                .amplification
                .iter()
                .filter(|a| a.subject == subject && a.factor.is_some())
                .max_by(|a, b| a.factor.unwrap_or(0.0).total_cmp(&b.factor.unwrap_or(0.0)))?;
            Some(format!(
                "{label}: ×{:.1} calls per request ({}, {} users: {:.2} DynamoDB calls and {:.2} \
                 ConditionalCheckFailed per successful request with locking, {:.2} and {:.2} without)",
                worst.factor.unwrap_or(0.0),
                worst.subject,
                worst.users,
                worst.calls_per_ok_locked,
                worst.ccf_per_ok_locked,
                worst.calls_per_ok_unlocked,
                worst.ccf_per_ok_unlocked
            ))
        })
        .collect()
}
