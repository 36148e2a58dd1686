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
    list_section(&mut md, "Documented deviations", results, |r| {
        r.deviation.as_deref()
    });
    let failures: Vec<&CaseResult> = results
        .iter()
        .filter(|r| r.status() == Status::Fail)
        .collect();
    if !failures.is_empty() {
        md.push_str("\n## Failures\n\n");
        for result in failures {
            let blame = match result.blame() {
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
                super::failure_text(result)
            );
        }
    }
    list_section(&mut md, "Skipped", results, |r| {
        (r.status() == Status::Skip).then(|| r.reason.as_deref().unwrap_or(""))
    });
    md
}

/// A `## title` section listing `- id (subject on backend): text` for every result `text_of` has text for.
fn list_section<'a>(
    md: &mut String,
    title: &str,
    results: &'a [CaseResult],
    text_of: impl Fn(&'a CaseResult) -> Option<&'a str>,
) {
    let lines: Vec<String> = results
        .iter()
        .filter_map(|r| {
            text_of(r).map(|text| {
                format!(
                    "- {} ({} on {}): {}",
                    r.id,
                    r.subject,
                    r.backend,
                    md_escape(text)
                )
            })
        })
        .collect();
    if !lines.is_empty() {
        let _ = write!(md, "\n## {title}\n\n{}\n", lines.join("\n"));
    }
}

fn md_escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
