//! What a check found: typed mismatches, which the checks collect and only reports render.

use serde::Serialize;

/// What part of a case's expectations a mismatch is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aspect {
    /// An exception that propagated, or one that should have and did not.
    Exception,
    ReturnValue,
    Warnings,
    /// Building a handler or `open()`, which must not throw unless a step says so.
    Setup,
    /// A step's time limit (`within_ms`, `still_running`).
    TimeLimit,
    Status,
    /// The JSON body of an HTTP answer.
    Body,
    Cookie,
    /// A `parallel` group's `wait` or the answers it collects.
    Wait,
    Calls,
    CallCounts,
    /// The table at the end of the case.
    Table,
}

impl Aspect {
    fn label(self) -> &'static str {
        match self {
            Aspect::Exception => "exception",
            Aspect::ReturnValue => "return value",
            Aspect::Warnings => "warnings",
            Aspect::Setup => "setting up the handler",
            Aspect::TimeLimit => "time limit",
            Aspect::Status => "HTTP status",
            Aspect::Body => "response",
            Aspect::Cookie => "session cookie",
            Aspect::Wait => "group",
            Aspect::Calls => "DynamoDB calls",
            Aspect::CallCounts => "DynamoDB call counts",
            Aspect::Table => "final table",
        }
    }
}

/// One difference between what a case expects and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// The step (`3:read`, or `2.1:http` for a member of a group), or `None` for the end of the case.
    pub step: Option<String>,
    pub aspect: Aspect,
    /// What differs, as the comparison put it (`expected "x", got ""`).
    pub detail: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(step) = &self.step {
            write!(f, "step {step}: ")?;
        }
        write!(f, "{}: {}", self.aspect.label(), self.detail)
    }
}

/// The mismatches of one play, in the order they were found.
#[derive(Debug, Default)]
pub struct Findings(Vec<Mismatch>);

impl Findings {
    /// A mismatch at step `label`.
    pub fn at(&mut self, label: &str, aspect: Aspect, detail: impl Into<String>) {
        self.push(Some(label), aspect, detail);
    }

    /// A mismatch of the case as a whole (its calls, its final table).
    pub fn of_case(&mut self, aspect: Aspect, detail: impl Into<String>) {
        self.push(None, aspect, detail);
    }

    /// The expectation engine's lines (`path: expected X, got Y`), each a mismatch of `aspect`.
    pub fn lines(&mut self, label: Option<&str>, aspect: Aspect, lines: Vec<String>) {
        for line in lines {
            self.push(label, aspect, line);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<Mismatch> {
        self.0
    }

    fn push(&mut self, label: Option<&str>, aspect: Aspect, detail: impl Into<String>) {
        self.0.push(Mismatch {
            step: label.map(str::to_owned),
            aspect,
            detail: detail.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mismatch_reads_as_step_aspect_detail() {
        let mut findings = Findings::default();
        findings.at("3:read", Aspect::ReturnValue, "expected \"x\", got \"\"");
        findings.of_case(Aspect::Table, "expected 1 item(s), found 0: ");
        let found = findings.into_vec();
        assert_eq!(
            found[0].to_string(),
            "step 3:read: return value: expected \"x\", got \"\""
        );
        assert_eq!(
            found[1].to_string(),
            "final table: expected 1 item(s), found 0: "
        );
    }
}
