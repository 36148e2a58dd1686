//! JUnit XML: one `<testsuite>` per subject × backend, one `<testcase>` per case.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::conform::result::{CaseResult, Status, Summary};

pub fn junit_xml(results: &[CaseResult]) -> String {
    let mut suites: BTreeMap<(String, String), Vec<&CaseResult>> = BTreeMap::new();
    for result in results {
        suites
            .entry((result.subject.clone(), result.backend.clone()))
            .or_default()
            .push(result);
    }
    let total = Summary::of(results);
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"dynamo-harness conform\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">",
        results.len(),
        total.fail,
        total.skip
    );
    for ((subject, backend), cases) in suites {
        let owned: Vec<CaseResult> = cases.iter().map(|c| (*c).clone()).collect();
        let summary = Summary::of(&owned);
        let seconds: f64 = cases.iter().map(|c| c.duration_ms as f64 / 1000.0).sum();
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{seconds:.3}\">",
            escape(&format!("{subject} on {backend}")),
            cases.len(),
            summary.fail,
            summary.skip
        );
        for case in cases {
            let _ = write!(
                xml,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                escape(&format!("{subject}.{backend}.{}", case.group)),
                escape(&format!("{} {}", case.id, case.title)),
                case.duration_ms as f64 / 1000.0
            );
            match case.status() {
                Status::Pass => xml.push_str("/>\n"),
                Status::Skip => {
                    let _ = writeln!(
                        xml,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        escape(case.reason.as_deref().unwrap_or(""))
                    );
                }
                Status::Fail => {
                    let _ = writeln!(
                        xml,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        escape(&super::reason_line(case).unwrap_or_default()),
                        escape(&super::diff_text(case).unwrap_or_default())
                    );
                }
            }
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even when escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
