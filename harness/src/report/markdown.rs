//! `summary.md`: the matrix and the failures, fit for a CI job summary.

use std::fmt::Write as _;

use super::terminal::{Matrix, cell_text};
use crate::conform::result::{Blame, CaseResult, Status, Summary};

pub fn summary_markdown(results: &[CaseResult]) -> String {
    let matrix = Matrix::of(results);
    let summary = Summary::of(results);
    let mut md = String::from("# Conformance\n\n");
    let _ = writeln!(md, "**{}**\n", summary.line());
    let _ = write!(md, "| case | group |");
    for column in &matrix.columns {
        let _ = write!(md, " {} on {} |", column.0, column.1);
    }
    md.push_str("\n|---|---|");
    md.push_str(&"---|".repeat(matrix.columns.len()));
    md.push('\n');
    for row in &matrix.rows {
        let _ = write!(
            md,
            "| {} {} | {} |",
            row.id,
            md_escape(&row.title),
            row.group
        );
        for cell in &row.cells {
            let _ = write!(md, " {} |", cell.map_or("", cell_text));
        }
        md.push('\n');
    }
    let hazards: Vec<&CaseResult> = results.iter().filter(|r| !r.hazards.is_empty()).collect();
    if !hazards.is_empty() {
        md.push_str("\n## Hazards shown\n\n");
        for result in hazards {
            let _ = writeln!(
                md,
                "- **{}** ({}, {} on {})",
                result.hazards.join(", "),
                result.id,
                result.subject,
                result.backend
            );
        }
    }
    let deviations: Vec<&CaseResult> = results.iter().filter(|r| r.deviation.is_some()).collect();
    if !deviations.is_empty() {
        md.push_str("\n## Documented deviations\n\n");
        for result in deviations {
            let _ = writeln!(
                md,
                "- {} ({} on {}): {}",
                result.id,
                result.subject,
                result.backend,
                md_escape(result.deviation.as_deref().unwrap_or(""))
            );
        }
    }
    let failures: Vec<&CaseResult> = results
        .iter()
        .filter(|r| r.status == Status::Fail)
        .collect();
    if !failures.is_empty() {
        md.push_str("\n## Failures\n\n");
        for result in failures {
            let blame = match result.blame {
                Some(Blame::Backend) => " — attributed to the backend",
                Some(Blame::Harness) => " — the harness could not run it",
                _ => "",
            };
            let _ = writeln!(
                md,
                "### {} {} ({} on {}){blame}\n\n```\n{}\n```\n",
                result.id,
                md_escape(&result.title),
                result.subject,
                result.backend,
                result
                    .diff
                    .as_deref()
                    .or(result.reason.as_deref())
                    .unwrap_or("")
            );
        }
    }
    let skipped: Vec<&CaseResult> = results
        .iter()
        .filter(|r| r.status == Status::Skip)
        .collect();
    if !skipped.is_empty() {
        md.push_str("\n## Skipped\n\n");
        for result in skipped {
            let _ = writeln!(
                md,
                "- {} ({} on {}): {}",
                result.id,
                result.subject,
                result.backend,
                md_escape(result.reason.as_deref().unwrap_or(""))
            );
        }
    }
    md
}

fn md_escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
