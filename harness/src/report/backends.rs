//! `backends.md`: what each backend of the run can do (measured at its start) and how the catalogue fared on
//! it, with every failure put down to a backend named. `docs/backends.md` is one from a real run.

use std::fmt::Write as _;

use dynamo_backends::{Capabilities, Capability};

use crate::conform::result::{Blame, CaseResult, Status, Summary};

/// A backend of the run, with the capabilities it was measured to have.
#[derive(Debug, Clone)]
pub struct BackendFacts {
    pub name: String,
    pub capabilities: Capabilities,
    /// Which TTL process the run's `ttl_sweep` steps played there.
    pub ttl_process: String,
}

/// The page for `backends` (in run order) and the run's `results`; `None` for a run without backends.
pub fn backends_markdown(backends: &[BackendFacts], results: &[CaseResult]) -> Option<String> {
    if backends.is_empty() {
        return None;
    }
    let mut page = String::from("# Backends: capabilities and the catalogue, from one run\n\n");
    let names: Vec<&str> = backends.iter().map(|b| b.name.as_str()).collect();
    let _ = writeln!(page, "| capability | {} |", names.join(" | "));
    let _ = writeln!(page, "|---|{}", "---|".repeat(names.len()));
    for capability in Capability::ALL {
        let cells: Vec<&str> = backends
            .iter()
            .map(|b| match b.capabilities.has(capability) {
                true => "yes",
                false => "**no**",
            })
            .collect();
        let _ = writeln!(page, "| `{capability}` | {} |", cells.join(" | "));
    }
    page.push_str("\nWhat a **no** means, and which TTL process a `ttl_sweep` step runs:\n\n");
    for backend in backends {
        let missing: Vec<String> = backend
            .capabilities
            .describe()
            .into_iter()
            .filter(|line| line.contains(": no"))
            .collect();
        let _ = writeln!(
            page,
            "- **{}**: TTL process: {}.{}",
            backend.name,
            backend.ttl_process,
            match missing.is_empty() {
                true => String::new(),
                false => format!(" Lacks: {}.", missing.join("; ")),
            }
        );
    }
    page.push_str(
        "\n| backend | subjects | passed | failed | skipped | failed, put down to the backend |\n",
    );
    page.push_str("|---|---|---:|---:|---:|---:|\n");
    for backend in backends {
        let on: Vec<&CaseResult> = results
            .iter()
            .filter(|r| r.backend == backend.name)
            .collect();
        let mut subjects: Vec<&str> = on.iter().map(|r| r.subject.as_str()).collect();
        subjects.dedup();
        let owned: Vec<CaseResult> = on.iter().map(|r| (*r).clone()).collect();
        let summary = Summary::of(&owned);
        let blamed = on
            .iter()
            .filter(|r| r.status() == Status::Fail && r.blame() == Some(Blame::Backend))
            .count();
        let _ = writeln!(
            page,
            "| {} | {} | {} | {} | {} | {blamed} |",
            backend.name,
            subjects.join(", "),
            summary.pass,
            summary.fail,
            summary.skip
        );
    }
    let blamed: Vec<&CaseResult> = results
        .iter()
        .filter(|r| r.status() == Status::Fail && r.blame() == Some(Blame::Backend))
        .collect();
    if !blamed.is_empty() {
        page.push_str(
            "\nFailures put down to a backend (the case depends on what the backend lacks):\n\n",
        );
        for result in blamed {
            let _ = writeln!(
                page,
                "- {} on {} ({}): {}",
                result.id,
                result.backend,
                result.subject,
                super::reason_line(result).unwrap_or_default()
            );
        }
    }
    Some(page)
}
