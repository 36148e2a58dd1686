//! The console view: a case × (subject, backend) matrix, then failures and skips, then the closing line.

use std::fmt::Write as _;

use crate::conform::result::{Blame, CaseResult, Status, Summary};

/// Results arranged as rows of cases and columns of (subject, backend), in first-seen order.
pub struct Matrix<'a> {
    pub columns: Vec<(String, String)>,
    pub rows: Vec<Row<'a>>,
}

pub struct Row<'a> {
    pub id: String,
    pub group: String,
    pub title: String,
    pub cells: Vec<Option<&'a CaseResult>>,
}

impl<'a> Matrix<'a> {
    pub fn of(results: &'a [CaseResult]) -> Self {
        let mut columns: Vec<(String, String)> = Vec::new();
        for result in results {
            let column = (result.subject.clone(), result.backend.clone());
            if !columns.contains(&column) {
                columns.push(column);
            }
        }
        let mut rows: Vec<Row<'a>> = Vec::new();
        for result in results {
            let column = columns
                .iter()
                .position(|c| c.0 == result.subject && c.1 == result.backend)
                .expect("every result's column was collected");
            let row = match rows.iter().position(|r| r.id == result.id) {
                Some(index) => &mut rows[index],
                None => {
                    rows.push(Row {
                        id: result.id.clone(),
                        group: result.group.clone(),
                        title: result.title.clone(),
                        cells: vec![None; columns.len()],
                    });
                    rows.last_mut().expect("just pushed")
                }
            };
            row.cells[column] = Some(result);
        }
        Matrix { columns, rows }
    }
}

pub fn cell_text(result: &CaseResult) -> &'static str {
    match (result.status(), result.blame()) {
        (Status::Pass, _) => "pass",
        (Status::Skip, _) => "skip",
        (Status::Fail, Some(Blame::Backend)) => "FAIL (backend)",
        (Status::Fail, Some(Blame::Harness)) => "ERROR",
        (Status::Fail, _) => "FAIL",
    }
}

/// The whole console report.
pub fn render(results: &[CaseResult], verbose: bool) -> String {
    let matrix = Matrix::of(results);
    let mut out = String::new();
    let title_width = 44;
    let id_width = matrix
        .rows
        .iter()
        .map(|r| r.id.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let group_width = matrix
        .rows
        .iter()
        .map(|r| r.group.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let headers: Vec<String> = matrix
        .columns
        .iter()
        .map(|(subject, backend)| format!("{subject}@{backend}"))
        .collect();
    let widths: Vec<usize> = headers.iter().map(|h| h.len().max(14)).collect();
    let _ = write!(
        out,
        "{:<id_width$} {:<group_width$} {:<title_width$}",
        "case", "group", "title"
    );
    for (header, width) in headers.iter().zip(&widths) {
        let _ = write!(out, "  {header:<width$}");
    }
    out.push('\n');
    for row in &matrix.rows {
        let title: String = row.title.chars().take(title_width).collect();
        let _ = write!(
            out,
            "{:<id_width$} {:<group_width$} {title:<title_width$}",
            row.id, row.group
        );
        for (cell, width) in row.cells.iter().zip(&widths) {
            let _ = write!(out, "  {:<width$}", cell.map_or("", cell_text));
        }
        out.push('\n');
    }
    let failures: Vec<&CaseResult> = results
        .iter()
        .filter(|r| r.status() == Status::Fail)
        .collect();
    if !failures.is_empty() {
        out.push_str("\nfailures:\n");
        for result in failures {
            let _ = writeln!(
                out,
                "\n--- {} {} [{} on {}]\n{}",
                result.id,
                result.title,
                result.subject,
                result.backend,
                indent(&super::failure_text(result))
            );
            match result.blame() {
                Some(Blame::Backend) => {
                    out.push_str("    (attributed to the backend, not to the handler)\n")
                }
                Some(Blame::Harness) => out.push_str("    (the harness could not run the case)\n"),
                _ => {}
            }
        }
    }
    let skipped: Vec<&CaseResult> = results
        .iter()
        .filter(|r| r.status() == Status::Skip)
        .collect();
    if !skipped.is_empty() {
        if verbose {
            list_section(&mut out, "skipped", results, |r| {
                (r.status() == Status::Skip).then(|| r.reason.as_deref().unwrap_or(""))
            });
        } else {
            // One line per distinct reason keeps a large skip list readable.
            let mut reasons: Vec<(String, usize)> = Vec::new();
            for result in &skipped {
                let reason = format!(
                    "[{} on {}] {}",
                    result.subject,
                    result.backend,
                    result.reason.as_deref().unwrap_or("")
                );
                match reasons.iter_mut().find(|(r, _)| *r == reason) {
                    Some((_, n)) => *n += 1,
                    None => reasons.push((reason, 1)),
                }
            }
            out.push_str("\nskipped (reasons; --verbose lists every case):\n");
            for (reason, count) in reasons {
                let _ = writeln!(out, "  {count:>3} × {reason}");
            }
        }
    }
    list_section(
        &mut out,
        "documented deviations (the case allowed for them)",
        results,
        |r| r.deviation.as_deref(),
    );
    let hazards: Vec<&CaseResult> = results.iter().filter(|r| !r.hazards.is_empty()).collect();
    if !hazards.is_empty() {
        out.push_str("\nhazards shown:\n");
        for result in hazards {
            let _ = writeln!(
                out,
                "  {} — {} [{} on {}]",
                result.hazards.join(", "),
                result.id,
                result.subject,
                result.backend
            );
        }
    }
    let _ = writeln!(out, "\n{}", Summary::of(results).line());
    out
}

/// A `title:` section listing `  id [subject on backend]: text` for every result `text_of` has text for.
fn list_section<'a>(
    out: &mut String,
    title: &str,
    results: &'a [CaseResult],
    text_of: impl Fn(&'a CaseResult) -> Option<&'a str>,
) {
    let lines: Vec<String> = results
        .iter()
        .filter_map(|r| {
            text_of(r).map(|text| format!("  {} [{} on {}]: {text}", r.id, r.subject, r.backend))
        })
        .collect();
    if !lines.is_empty() {
        let _ = write!(out, "\n{title}:\n{}\n", lines.join("\n"));
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}
