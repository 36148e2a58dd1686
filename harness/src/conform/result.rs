//! One result record per (case, subject, backend): every report is a view of these.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

/// Who a failure is put down to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Blame {
    /// The subject behaved differently from the SDK's semantics.
    Handler,
    /// The backend lacks a capability the case depends on (for example moto and binary AttributeUpdates).
    Backend,
    /// The harness itself could not run the case (a subject did not start, the table could not be made, ...).
    Harness,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub id: String,
    pub group: String,
    pub title: String,
    pub subject: String,
    /// What really ran for the subject, where it can say (`aws-sdk-php 3.189.0`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub implementation: Option<String>,
    pub backend: String,
    pub status: Status,
    /// Why it was skipped, or a one-line summary of why it failed.
    pub reason: Option<String>,
    /// The full explanation of a failure: which step or call, which field, expected and got.
    pub diff: Option<String>,
    pub blame: Option<Blame>,
    /// A documented deviation of this subject from the SDK that the case allowed for.
    pub deviation: Option<String>,
    /// The faults the proxy injected, in short (`GetItem: throttle ProvisionedThroughputExceededException ×11`).
    pub fault: Option<String>,
    /// How many DynamoDB calls the subject made (retries included).
    pub calls: usize,
    /// What each handler step returned, in short (`read ''`, `write false + warning`).
    pub returns: Vec<String>,
    /// What became of the session data, as the case's table expectations prove.
    pub data: Option<crate::scenario::DataFate>,
    /// Hazards this case demonstrated (named in every report where they occur).
    pub hazards: Vec<String>,
    pub duration_ms: u64,
    /// Where the recorded wire trace was written, relative to the report folder.
    pub trace: Option<String>,
    #[serde(skip)]
    pub records: Vec<dynamo_wire::WireRecord>,
}

impl CaseResult {
    pub fn skipped(
        case: &crate::scenario::Case,
        subject: &str,
        backend: &str,
        reason: String,
    ) -> Self {
        CaseResult {
            id: case.id.clone(),
            group: case.group.clone(),
            title: case.title.clone(),
            subject: subject.to_owned(),
            implementation: None,
            backend: backend.to_owned(),
            status: Status::Skip,
            reason: Some(reason),
            diff: None,
            blame: None,
            deviation: None,
            fault: None,
            calls: 0,
            returns: Vec::new(),
            data: None,
            hazards: Vec::new(),
            duration_ms: 0,
            trace: None,
            records: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
}

impl Summary {
    pub fn of(results: &[CaseResult]) -> Self {
        let mut summary = Summary::default();
        for result in results {
            match result.status {
                Status::Pass => summary.pass += 1,
                Status::Fail => summary.fail += 1,
                Status::Skip => summary.skip += 1,
            }
        }
        summary
    }

    /// The closing line CI reads: `N passed, N failed, N skipped`.
    pub fn line(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.pass, self.fail, self.skip
        )
    }
}
