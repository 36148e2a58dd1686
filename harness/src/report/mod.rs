//! Reports: views of the result records, never separate code paths.
//!
//! `write_folder` writes `results.json`, `junit.xml`, `summary.md` and one normalised wire trace per case;
//! [`terminal`] renders the matrix for the console.

mod junit;
mod markdown;
pub mod terminal;

use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use crate::conform::result::{CaseResult, Summary};

pub use junit::junit_xml;
pub use markdown::summary_markdown;

#[derive(Serialize)]
struct ResultsFile<'a> {
    cases: &'a [CaseResult],
    summary: Summary,
}

/// Writes the report folder; records each case's trace path into its result.
pub fn write_folder(dir: &Path, results: &mut [CaseResult]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir.join("traces"))
        .with_context(|| format!("creating report folder {}", dir.display()))?;
    for result in results.iter_mut() {
        if result.records.is_empty() {
            continue;
        }
        let name = format!(
            "traces/{}__{}__{}.jsonl",
            file_safe(&result.id),
            file_safe(&result.subject),
            file_safe(&result.backend)
        );
        // Traces are written the way fixtures/sdk-traces are, so they can be diffed against them; a record the
        // normaliser cannot place in time is kept raw rather than dropped.
        let normalised =
            dynamo_wire::normalise(&result.records, &dynamo_wire::NormaliseOptions::default())
                .unwrap_or_else(|_| result.records.clone());
        dynamo_wire::write_trace(dir.join(&name), &normalised)
            .with_context(|| format!("writing {name}"))?;
        result.trace = Some(name);
    }
    let summary = Summary::of(results);
    let json = serde_json::to_string_pretty(&ResultsFile {
        cases: results,
        summary,
    })?;
    std::fs::write(dir.join("results.json"), json + "\n")?;
    std::fs::write(dir.join("junit.xml"), junit_xml(results))?;
    std::fs::write(dir.join("summary.md"), summary_markdown(results))?;
    Ok(())
}

fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
