//! `--baseline DIR`: an earlier run's summary.json beside this one, metric by metric and point by point, and
//! `--max-regression 10%`: the largest change for the worse a gated metric may show.
//!
//! Points are matched by subject, locking and users. A regression is a change in the worse direction (latency
//! up, req/s down), as a share of the baseline's value; from a baseline of 0 any increase is an unbounded one.
//! The gate looks at the figures that a baseline makes meaningful as ratios (latency, req/s, calls and
//! ConditionalCheckFailed answers per request, the share of the ceiling, the harness's own CPU per request); errors and lost
//! updates are shown but gated by thresholds (`errors<0.1%`, `lost_updates=0`), which say what is acceptable
//! without depending on the last run's luck.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::run::LoadReport;
use super::threshold::{Better, Metric};

/// The metrics shown beside a baseline, in table order.
pub const COMPARED: [Metric; 10] = [
    Metric::Rps,
    Metric::P50,
    Metric::P95,
    Metric::P99,
    Metric::Errors,
    Metric::CallsPerRequest,
    Metric::CcfPerRequest,
    Metric::OfCeiling,
    Metric::HarnessUsPerRequest,
    Metric::LostUpdates,
];

/// Whether `--max-regression` applies to the metric.
pub fn gated(metric: Metric) -> bool {
    !matches!(metric, Metric::Errors | Metric::LostUpdates)
}

/// An earlier run, read from its report folder (or its summary.json).
pub struct Baseline {
    pub path: PathBuf,
    pub report: LoadReport,
}

impl Baseline {
    pub fn read(path: &Path) -> anyhow::Result<Baseline> {
        let file = match path.is_dir() {
            true => path.join("summary.json"),
            false => path.to_owned(),
        };
        let text = std::fs::read_to_string(&file).with_context(|| {
            format!(
                "reading the baseline {} (give the report folder of an earlier load or compare run, or its \
                 summary.json)",
                file.display()
            )
        })?;
        let report: LoadReport = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a load summary.json", file.display()))?;
        Ok(Baseline { path: file, report })
    }
}

/// This run beside the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The baseline's summary.json.
    pub source: String,
    /// The baseline's profile, when it is not this run's.
    pub other_profile: Option<String>,
    pub max_regression: Option<f64>,
    pub points: Vec<PointDelta>,
    /// Points of this run the baseline has no counterpart for (`rust-http with 8 users`).
    pub unmatched: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointDelta {
    pub subject: String,
    pub locking: bool,
    pub users: usize,
    pub deltas: Vec<Delta>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    pub metric: Metric,
    pub baseline: f64,
    pub current: f64,
    /// (current − baseline) ÷ baseline; `None` from a baseline of 0 with a change.
    pub change: Option<f64>,
    /// How much worse, as a share of the baseline: 0 when better or equal, `None` when unbounded (from 0).
    pub regression: Option<f64>,
    /// Beyond `--max-regression` (gated metrics only).
    pub beyond_limit: bool,
}

impl Delta {
    pub fn of(metric: Metric, baseline: f64, current: f64, limit: Option<f64>) -> Delta {
        let worse_by = match metric.better() {
            Better::Lower => current - baseline,
            Better::Higher => baseline - current,
        };
        let tiny = 1e-12;
        let change = match baseline.abs() > tiny {
            true => Some((current - baseline) / baseline),
            false if (current - baseline).abs() <= tiny => Some(0.0),
            false => None,
        };
        let regression = match (worse_by > tiny, baseline.abs() > tiny) {
            (false, _) => Some(0.0),
            (true, true) => Some(worse_by / baseline.abs()),
            (true, false) => None,
        };
        let beyond_limit = gated(metric)
            && limit.is_some_and(|limit| regression.is_none_or(|r| r > limit + 1e-12));
        Delta {
            metric,
            baseline,
            current,
            change,
            regression,
            beyond_limit,
        }
    }

    /// `+6.2%`, `−3.0%`, `new` (from 0), `=`.
    pub fn change_text(&self) -> String {
        match self.change {
            Some(c) if c.abs() < 0.0005 => "±0%".to_owned(),
            Some(c) => format!("{}{:.1}%", if c > 0.0 { "+" } else { "−" }, c.abs() * 100.0),
            None => "from 0".to_owned(),
        }
    }
}

/// Compares every point of `current` that ran with the baseline's point of the same subject, locking and users.
pub fn compare(current: &LoadReport, baseline: &Baseline, limit: Option<f64>) -> Comparison {
    let mut points = Vec::new();
    let mut unmatched = Vec::new();
    for record in &current.runs {
        if record.status != super::run::RunStatus::Ran {
            continue;
        }
        let Some(before) = baseline.report.runs.iter().find(|b| {
            b.subject == record.subject
                && b.locking == record.locking
                && b.users == record.users
                && b.status == super::run::RunStatus::Ran
        }) else {
            unmatched.push(format!("{} with {} users", record.series(), record.users));
            continue;
        };
        let deltas = COMPARED
            .iter()
            .filter_map(|&metric| {
                let was = metric.of(before, &baseline.report)?;
                let now = metric.of(record, current)?;
                Some(Delta::of(metric, was, now, limit))
            })
            .collect();
        points.push(PointDelta {
            subject: record.subject.clone(),
            locking: record.locking,
            users: record.users,
            deltas,
        });
    }
    Comparison {
        source: baseline.path.display().to_string(),
        other_profile: (baseline.report.profile.name != current.profile.name)
            .then(|| baseline.report.profile.name.clone()),
        max_regression: limit,
        points,
        unmatched,
    }
}

impl Comparison {
    /// The regressions beyond the limit, one line each.
    pub fn regressions(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for point in &self.points {
            for delta in point.deltas.iter().filter(|d| d.beyond_limit) {
                lines.push(format!(
                    "{}{} with {} users: {} {} → {} ({}, more than the {:.0}% allowed)",
                    point.subject,
                    if point.locking { " (locking)" } else { "" },
                    point.users,
                    delta.metric,
                    delta.metric.show(delta.baseline),
                    delta.metric.show(delta.current),
                    delta.change_text(),
                    self.max_regression.unwrap_or(0.0) * 100.0
                ));
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::run::{RunRecord, RunStatus};

    fn point(subject: &str, users: usize, rps: f64, calls: f64) -> RunRecord {
        let mut record = RunRecord::empty(subject, false, users, RunStatus::Ran, None);
        record.requests_per_s = Some(rps);
        record.calls_per_request = Some(calls);
        record.requests_total = 1000;
        record
    }

    fn report(runs: Vec<RunRecord>) -> LoadReport {
        let profile = crate::load::profile::find("browse", &[crate::load::builtin_dir()]).unwrap();
        LoadReport {
            profile,
            backend: Some("dynoxide".to_owned()),
            ceiling_note: None,
            duration_s: 1,
            started_unix: 0,
            cores: 2,
            runs,
            php_server: None,
            amplification: Vec::new(),
            thresholds: Vec::new(),
            baseline: None,
        }
    }

    #[test]
    fn points_are_matched_and_regressions_named() {
        let before = Baseline {
            path: PathBuf::from("old/summary.json"),
            report: report(vec![
                point("rust-http", 4, 1000.0, 2.0),
                point("php-http", 4, 100.0, 2.0),
            ]),
        };
        // Through summary.json and back, as --baseline reads it.
        let before = Baseline {
            report: serde_json::from_str(&serde_json::to_string(&before.report).unwrap()).unwrap(),
            ..before
        };
        let now = report(vec![
            point("rust-http", 4, 800.0, 2.0),
            point("php-http", 4, 101.0, 2.0),
            point("rust-http", 8, 900.0, 2.0),
        ]);
        let comparison = compare(&now, &before, Some(0.10));
        assert_eq!(comparison.points.len(), 2);
        assert_eq!(comparison.unmatched, ["rust-http with 8 users"]);
        assert_eq!(comparison.other_profile, None);
        let rust = &comparison.points[0];
        let rps = rust
            .deltas
            .iter()
            .find(|d| d.metric == Metric::Rps)
            .unwrap();
        assert!((rps.change.unwrap() + 0.2).abs() < 1e-12 && rps.beyond_limit);
        let calls = rust
            .deltas
            .iter()
            .find(|d| d.metric == Metric::CallsPerRequest)
            .unwrap();
        assert_eq!(calls.change, Some(0.0));
        assert!(!calls.beyond_limit);
        // Errors are 0 of 1000 both times; latency is absent (no goose summary): not compared.
        assert!(rust.deltas.iter().all(|d| d.metric != Metric::P99));
        let lines = comparison.regressions();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with("rust-http with 4 users: rps 1000.0 req/s → 800.0 req/s (−20.0%"),
            "{}",
            lines[0]
        );
        // No limit: the same deltas, nothing fails.
        assert!(compare(&now, &before, None).regressions().is_empty());
    }

    #[test]
    fn deltas_know_which_way_is_worse() {
        // Latency up 20% against a 10% limit: a regression beyond it.
        let d = Delta::of(Metric::P99, 50.0, 60.0, Some(0.10));
        assert!((d.change.unwrap() - 0.2).abs() < 1e-12);
        assert!((d.regression.unwrap() - 0.2).abs() < 1e-12);
        assert!(d.beyond_limit);
        assert_eq!(d.change_text(), "+20.0%");
        // Latency down: better, whatever the limit.
        let d = Delta::of(Metric::P99, 50.0, 40.0, Some(0.0));
        assert_eq!(d.regression, Some(0.0));
        assert!(!d.beyond_limit);
        assert_eq!(d.change_text(), "−20.0%");
        // Throughput down 5% is within 10%; down 15% is not.
        assert!(!Delta::of(Metric::Rps, 1000.0, 950.0, Some(0.10)).beyond_limit);
        let d = Delta::of(Metric::Rps, 1000.0, 850.0, Some(0.10));
        assert!(d.beyond_limit && (d.regression.unwrap() - 0.15).abs() < 1e-12);
        // Throughput up is no regression.
        assert!(!Delta::of(Metric::Rps, 1000.0, 2000.0, Some(0.0)).beyond_limit);
        // From 0: unbounded, beyond any limit for a gated metric...
        let d = Delta::of(Metric::CcfPerRequest, 0.0, 0.2, Some(0.5));
        assert_eq!((d.change, d.regression), (None, None));
        assert!(d.beyond_limit);
        assert_eq!(d.change_text(), "from 0");
        // ...but errors and lost updates are shown, not gated.
        assert!(!Delta::of(Metric::Errors, 0.0, 0.01, Some(0.0)).beyond_limit);
        assert!(!Delta::of(Metric::LostUpdates, 1.0, 9.0, Some(0.0)).beyond_limit);
        // 0 → 0 is no change; no limit, no gate.
        assert_eq!(
            Delta::of(Metric::CcfPerRequest, 0.0, 0.0, Some(0.0)).change,
            Some(0.0)
        );
        assert!(!Delta::of(Metric::P99, 50.0, 500.0, None).beyond_limit);
        // Exactly at the limit is allowed.
        assert!(!Delta::of(Metric::P50, 10.0, 11.0, Some(0.10)).beyond_limit);
    }
}
