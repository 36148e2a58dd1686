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

/// How a case ended: a failure always says whom it is put down to, and nothing else can carry a blame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail(Blame),
    Skip,
}

impl Outcome {
    pub fn status(self) -> Status {
        match self {
            Outcome::Pass => Status::Pass,
            Outcome::Fail(_) => Status::Fail,
            Outcome::Skip => Status::Skip,
        }
    }

    pub fn blame(self) -> Option<Blame> {
        match self {
            Outcome::Fail(blame) => Some(blame),
            Outcome::Pass | Outcome::Skip => None,
        }
    }
}

/// `results.json` keeps its two fields: `status`, and `blame` (null unless failed).
impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("status", &self.status())?;
        map.serialize_entry("blame", &self.blame())?;
        map.end()
    }
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
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Why it was skipped, why the harness could not run it, or which capability the backend lacks; a
    /// handler's failure says why in `mismatches` (reports render both, [`crate::report::reason_line`]).
    #[serde(skip)]
    pub reason: Option<String>,
    /// What differed from the case's expectations, in the order found: which step or call, which field,
    /// expected and got.
    pub mismatches: Vec<super::mismatch::Mismatch>,
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
    #[serde(skip)]
    pub records: Vec<dynamo_wire::WireRecord>,
}

impl CaseResult {
    pub fn status(&self) -> Status {
        self.outcome.status()
    }

    pub fn blame(&self) -> Option<Blame> {
        self.outcome.blame()
    }

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
            outcome: Outcome::Skip,
            reason: Some(reason),
            mismatches: Vec::new(),
            deviation: None,
            fault: None,
            calls: 0,
            returns: Vec::new(),
            data: None,
            hazards: Vec::new(),
            duration_ms: 0,
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
            match result.status() {
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
