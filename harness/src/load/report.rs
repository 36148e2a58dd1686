//! Views of a [`LoadReport`]: `summary.json` (the report itself), `summary.md` (side-by-side tables for a CI
//! summary), the same main table on the terminal, and the list of problems that make the run fail.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;

use super::baseline::{self, Comparison};
use super::ceiling::Ceiling;
use super::cost::HARNESS_SHARE_LIMIT;
use super::run::{LoadReport, RunRecord, RunStatus};
use super::threshold::{Kind, Metric};

/// Writes summary.json, summary.md and (for more than one point per series) plot.svg into `dir`.
pub fn write_folder(dir: &Path, report: &LoadReport) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = serde_json::to_string_pretty(report)?;
    std::fs::write(dir.join("summary.json"), json + "\n")
        .with_context(|| format!("writing {}", dir.join("summary.json").display()))?;
    std::fs::write(dir.join("summary.md"), markdown(report))
        .with_context(|| format!("writing {}", dir.join("summary.md").display()))?;
    if super::plot::worth_plotting(report) {
        std::fs::write(dir.join("plot.svg"), super::plot::svg(report))
            .with_context(|| format!("writing {}", dir.join("plot.svg").display()))?;
    }
    Ok(())
}

/// A small table rendered both as Markdown and as aligned text.
struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn headers(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

impl Table {
    fn markdown(&self) -> String {
        let mut out = format!("| {} |\n|", self.headers.join(" | "));
        out.push_str(&"---|".repeat(self.headers.len()));
        out.push('\n');
        for row in &self.rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out
    }

    fn text(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| -> String {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            padded.join("  ").trim_end().to_owned() + "\n"
        };
        let mut out = line(self.headers.iter().map(String::as_str).collect());
        for row in &self.rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
        }
        out
    }
}

fn num(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.decimals$}"))
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{:.0}%", v * 100.0))
}

/// The status cell; a reason (often long, and the same for every point of a subject) goes to a numbered note
/// under the table.
fn status(record: &RunRecord, notes: &mut Vec<String>) -> String {
    let mut note = |reason: &Option<String>| {
        let reason = reason.as_deref().unwrap_or("no reason given").to_owned();
        let at = match notes.iter().position(|n| *n == reason) {
            Some(at) => at,
            None => {
                notes.push(reason);
                notes.len() - 1
            }
        };
        format!("[{}]", at + 1)
    };
    match (record.status, &record.stopped) {
        (RunStatus::Ran, None) => "ran".to_owned(),
        (RunStatus::Ran, stopped) => format!("ran, stopped early {}", note(stopped)),
        (RunStatus::Skipped, _) => format!("skipped {}", note(&record.reason)),
        (RunStatus::Failed, _) => format!("failed {}", note(&record.reason)),
    }
}

/// A ceiling that moved more than this between before and after a point marks its ratio uncertain.
const UNSTEADY: f64 = 0.25;

fn notes_text(notes: &[String]) -> String {
    notes
        .iter()
        .enumerate()
        .map(|(i, n)| match n.starts_with('*') {
            true => format!("{n}\n"),
            false => format!("[{}] {n}\n", i + 1),
        })
        .collect()
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// The side-by-side table: one row per subject × locking × users, and the notes its status cells refer to.
fn main_table(report: &LoadReport) -> (Table, Vec<String>) {
    let mut notes = Vec::new();
    let rows = report
        .runs
        .iter()
        .map(|r| {
            let goose = r.goose.as_ref();
            vec![
                r.series(),
                r.users.to_string(),
                num(r.requests_per_s, 1),
                num(r.ceiling_pairs_per_s, 0),
                match r.ceiling_drift().is_some_and(|d| d > UNSTEADY) {
                    true => format!("{}*", percent(r.ceiling_fraction)),
                    false => percent(r.ceiling_fraction),
                },
                harness_cell(r),
                num(goose.map(|g| g.latency.p50_ms), 1),
                num(goose.map(|g| g.latency.p99_ms), 1),
                num(
                    goose.and_then(|g| g.latency_co.as_ref()).map(|l| l.p99_ms),
                    1,
                ),
                match r.status {
                    RunStatus::Ran => format!("{}/{}", r.failures_total, r.requests_total),
                    _ => "–".to_owned(),
                },
                num(r.calls_per_request, 2),
                num(r.ccf_per_request, 3),
                r.hot
                    .as_ref()
                    .map_or_else(|| "–".to_owned(), |h| h.lost_updates.to_string()),
                percent(r.generator_cpu.as_ref().map(|c| c.share)),
                status(r, &mut notes),
            ]
        })
        .collect();
    if report
        .runs
        .iter()
        .any(|r| r.ceiling_drift().is_some_and(|d| d > UNSTEADY))
    {
        notes.push(format!(
            "* the backend ceiling moved by more than {:.0}% between before and after the point (other load \
             on the machine?): that ratio is uncertain",
            UNSTEADY * 100.0
        ));
    }
    let table = Table {
        headers: headers(&[
            "subject",
            "users",
            "req/s",
            "ceiling pairs/s",
            "of ceiling",
            "harness µs/req",
            "p50 ms",
            "p99 ms",
            "p99 CO ms",
            "errors",
            "calls/req",
            "CCF/req",
            "lost updates",
            "gen CPU",
            "status",
        ]),
        rows,
    };
    (table, notes)
}

/// The harness's own CPU per request (load generator + wire proxy) and its share of the request's CPU; `!` past
/// [`HARNESS_SHARE_LIMIT`].
fn harness_cell(record: &RunRecord) -> String {
    let Some(cost) = &record.cost else {
        return "–".to_owned();
    };
    match (cost.harness_us(), cost.harness_share()) {
        (Some(us), Some(share)) => format!(
            "{us:.0} ({:.0}%){}",
            share * 100.0,
            if share > HARNESS_SHARE_LIMIT { "!" } else { "" }
        ),
        (Some(us), None) => format!("{us:.0}"),
        _ => "–".to_owned(),
    }
}

/// Microseconds, or a dash.
fn us(value: Option<f64>) -> String {
    num(value, 0)
}

/// CPU per request part by part, and what bounds each point.
fn cost_table(report: &LoadReport) -> Option<Table> {
    let rows: Vec<Vec<String>> = report
        .runs
        .iter()
        .filter(|r| r.status == RunStatus::Ran)
        .filter_map(|r| {
            let c = r.cost.as_ref()?;
            Some(vec![
                r.series(),
                r.users.to_string(),
                num(r.requests_per_s, 1),
                percent(r.ceiling_fraction),
                format!("{:.0}", c.budget_us),
                us(c.generator_us),
                us(c.proxy_us),
                us(c.app_us),
                us(c.php_us),
                us(c.web_server_us),
                us(c.backend_us),
                us(c.other_us),
                format!("{:.0}", c.total_us()),
                match c.harness_share() {
                    Some(share) if share > HARNESS_SHARE_LIMIT => {
                        format!("{:.0}% (over a fifth)", share * 100.0)
                    }
                    share => percent(share),
                },
                c.bound(r.ceiling_fraction),
            ])
        })
        .collect();
    (!rows.is_empty()).then(|| Table {
        headers: headers(&[
            "subject",
            "users",
            "req/s",
            "of ceiling",
            "machine µs/req",
            "generator",
            "proxy",
            "app (in process)",
            "php",
            "nginx",
            "backend",
            "other",
            "total",
            "harness share",
            "bound",
        ]),
        rows,
    })
}

const COST_LEGEND: &str = "CPU microseconds per request (every request of the point), part by part. **machine**:     what the machine had per request (cores × wall time ÷ requests); **generator** (goose) and **proxy** (the wire     proxy) are the harness's own cost, its **share** of the request's measured CPU; **app**: rust-http, served in     the harness process; **php**/**nginx**: the PHP app's server processes; **backend**: an in-process or local     backend; **other**: the rest of the harness process. **bound**: what limits the point's req/s — the backend's     ceiling, the machine's CPU (the biggest consumers), or neither (latency × users).";

/// A value in the metric's own unit, without the unit: for table cells.
fn short(metric: Metric, value: f64) -> String {
    match metric.kind() {
        Kind::Latency => format!("{value:.1}"),
        Kind::Share => format!("{:.2}%", value * 100.0),
        Kind::Rate => format!("{value:.1}"),
        Kind::Count => format!("{value:.0}"),
        Kind::Ratio => format!("{value:.3}"),
        Kind::Micros => format!("{value:.0}"),
    }
}

/// This run beside the baseline: one row per matched point, a `now (change)` cell per metric; `!` marks a
/// regression beyond `--max-regression`.
fn baseline_table(comparison: &Comparison) -> Table {
    let mut names = vec!["subject".to_owned(), "users".to_owned()];
    names.extend(baseline::COMPARED.iter().map(|m| m.name().to_owned()));
    let rows = comparison
        .points
        .iter()
        .map(|p| {
            let mut row = vec![
                match p.locking {
                    true => format!("{} (locking)", p.subject),
                    false => p.subject.clone(),
                },
                p.users.to_string(),
            ];
            row.extend(baseline::COMPARED.iter().map(|&metric| {
                p.deltas.iter().find(|d| d.metric == metric).map_or_else(
                    || "–".to_owned(),
                    |d| {
                        format!(
                            "{} → {} ({}){}",
                            short(metric, d.baseline),
                            short(metric, d.current),
                            d.change_text(),
                            if d.beyond_limit { " !" } else { "" }
                        )
                    },
                )
            }));
            row
        })
        .collect();
    Table {
        headers: names,
        rows,
    }
}

fn baseline_intro(comparison: &Comparison) -> String {
    let mut intro = format!("baseline: {}", comparison.source);
    if let Some(other) = &comparison.other_profile {
        let _ = write!(intro, " (profile {other}, not this run's)");
    }
    match comparison.max_regression {
        Some(limit) => {
            let _ = write!(
                intro,
                "; a change for the worse of more than {:.0}% in rps, latency, calls, CCF, of ceiling or harness                  µs/req fails the run (marked !)",
                limit * 100.0
            );
        }
        None => intro.push_str("; no --max-regression: deltas only"),
    }
    if !comparison.unmatched.is_empty() {
        let _ = write!(
            intro,
            "; not in the baseline: {}",
            comparison.unmatched.join(", ")
        );
    }
    intro
}

/// What makes the run fail besides [`problems`]: breached thresholds and regressions beyond the limit.
pub fn gate_failures(report: &LoadReport) -> Vec<String> {
    let mut failures: Vec<String> = report
        .thresholds
        .iter()
        .filter(|t| !t.passed())
        .flat_map(|t| t.lines())
        .collect();
    if let Some(comparison) = &report.baseline {
        failures.extend(
            comparison
                .regressions()
                .into_iter()
                .map(|line| format!("regression: {line}")),
        );
    }
    failures
}

fn ceiling_line(report: &LoadReport) -> String {
    let ceilings: Vec<&Ceiling> = report
        .runs
        .iter()
        .flat_map(|r| r.ceiling.iter().chain(r.ceiling_after.iter()))
        .collect();
    let spec = &report.profile.ceiling;
    match (ceilings.is_empty(), &report.ceiling_note) {
        (false, _) => {
            let low = ceilings
                .iter()
                .map(|c| c.pairs_per_s)
                .fold(f64::INFINITY, f64::min);
            let high = ceilings.iter().map(|c| c.pairs_per_s).fold(0.0, f64::max);
            format!(
                "backend ceiling, measured before and after each point: {low:.0} to {high:.0} GetItem+UpdateItem \
                 pairs/s ({} at a time for {} s); each point is compared with its own mean",
                spec.concurrency, spec.duration_s
            )
        }
        (true, Some(note)) => format!("backend ceiling: not measured ({note})"),
        (true, None) => "backend ceiling: not measured".to_owned(),
    }
}

/// The main table and the ceiling, for the terminal.
pub fn terminal(report: &LoadReport) -> String {
    let mut out = format!(
        "profile {} on {}: {} s full load per point, {} cores\n{}\n\n",
        report.profile.name,
        report.backend.as_deref().unwrap_or("(no backend)"),
        report.duration_s,
        report.cores,
        ceiling_line(report)
    );
    if let Some(server) = &report.php_server {
        let _ = writeln!(out, "php-http served by {server}\n");
    }
    let (table, notes) = main_table(report);
    out.push_str(&table.text());
    out.push_str(&notes_text(&notes));
    if let Some(costs) = cost_table(report) {
        out.push_str("\ncost per request, CPU µs (machine = cores × wall ÷ requests; harness = generator + proxy):\n");
        out.push_str(&costs.text());
    }
    let headlines = super::amplification::headlines(report);
    if !headlines.is_empty() {
        out.push('\n');
        for line in headlines {
            let _ = writeln!(out, "{line}");
        }
    }
    if let Some(comparison) = &report.baseline {
        let _ = writeln!(out, "\n{}", baseline_intro(comparison));
        out.push_str(&baseline_table(comparison).text());
    }
    if !report.thresholds.is_empty() {
        out.push('\n');
        for outcome in &report.thresholds {
            for line in outcome.lines() {
                let _ = writeln!(out, "threshold {line}");
            }
        }
    }
    for problem in problems(report) {
        let _ = writeln!(out, "problem: {problem}");
    }
    if let Some(comparison) = &report.baseline {
        for line in comparison.regressions() {
            let _ = writeln!(out, "regression: {line}");
        }
    }
    out
}

/// The whole summary, as Markdown.
pub fn markdown(report: &LoadReport) -> String {
    let mut md = format!(
        "# Load: {} on {}\n\n{}\n\n",
        report.profile.name,
        report.backend.as_deref().unwrap_or("(no backend)"),
        report.profile.description.trim()
    );
    let _ = writeln!(md, "- {}", ceiling_line(report));
    let _ = writeln!(
        md,
        "- {} s of full load per point; hatch rate {}; machine: {} cores",
        report.duration_s,
        report.profile.hatch_rate.map_or_else(
            || "all users within a second".to_owned(),
            |r| format!("{r} users/s")
        ),
        report.cores
    );
    if let Some(server) = &report.php_server {
        let _ = writeln!(md, "- php-http served by {server}");
    }
    md.push_str(
        "- **of ceiling** = req/s ÷ (ceiling calls/s ÷ calls per request): the share of what the backend \
         could serve this subject's requests at. **harness µs/req**: CPU the load generator and the wire proxy \
         spent per request, and their share of the request's measured CPU (! past a fifth; see *Cost per \
         request*). **p99 CO**: with goose's coordinated-omission mitigation. \
         **CCF**: ConditionalCheckFailed answers (with locking: lock attempts that found the lock taken). \
         **gen CPU**: the load generator's threads, as a share of wall time × cores.\n\n",
    );
    let (table, notes) = main_table(report);
    md.push_str(&table.markdown());
    if !notes.is_empty() {
        md.push('\n');
        md.push_str(&notes_text(&notes).replace('\n', "\n\n"));
    }

    if !report.thresholds.is_empty() {
        md.push_str("\n## Thresholds\n\n");
        let rows = report
            .thresholds
            .iter()
            .map(|t| {
                vec![
                    format!("`{}`", t.rule.text),
                    t.checked.to_string(),
                    match (t.checked, t.passed()) {
                        (0, _) => "not checked: no point has the metric".to_owned(),
                        (_, true) => "met".to_owned(),
                        (_, false) => format!(
                            "**breached**: {}",
                            t.breaches
                                .iter()
                                .map(|b| format!(
                                    "{}{} with {} users ({})",
                                    b.subject,
                                    if b.locking { " (locking)" } else { "" },
                                    b.users,
                                    t.rule.metric.show(b.value)
                                ))
                                .collect::<Vec<_>>()
                                .join("; ")
                        ),
                    },
                ]
            })
            .collect();
        md.push_str(
            &Table {
                headers: headers(&["rule", "points checked", "result"]),
                rows,
            }
            .markdown(),
        );
    }

    let headlines = super::amplification::headlines(report);
    if !headlines.is_empty() {
        md.push_str("\n## Lock-storm amplification\n\n");
        for line in &headlines {
            let _ = writeln!(md, "**{line}**\n");
        }
        md.push_str(
            "DynamoDB calls and ConditionalCheckFailed answers per successful request, the same subject and users \
             without and with the SDK's locking (a lock attempt that finds the lock taken is answered \
             ConditionalCheckFailed and retried).\n\n",
        );
        let rows = report
            .amplification
            .iter()
            .map(|a| {
                vec![
                    a.subject.clone(),
                    a.users.to_string(),
                    format!("{:.2}", a.calls_per_ok_unlocked),
                    format!("{:.2}", a.calls_per_ok_locked),
                    format!("{:.2}", a.ccf_per_ok_unlocked),
                    format!("{:.2}", a.ccf_per_ok_locked),
                    a.factor
                        .map_or_else(|| "–".to_owned(), |f| format!("×{f:.1}")),
                ]
            })
            .collect();
        md.push_str(
            &Table {
                headers: headers(&[
                    "subject",
                    "users",
                    "calls/ok req, no locking",
                    "calls/ok req, locking",
                    "CCF/ok req, no locking",
                    "CCF/ok req, locking",
                    "amplification",
                ]),
                rows,
            }
            .markdown(),
        );
    }

    if let Some(comparison) = &report.baseline {
        let _ = write!(
            md,
            "\n## Against the baseline\n\n{}.\n\n",
            baseline_intro(comparison)
        );
        if comparison.points.is_empty() {
            md.push_str("No point of this run has a counterpart in the baseline.\n");
        } else {
            md.push_str(&baseline_table(comparison).markdown());
        }
        let regressions = comparison.regressions();
        if !regressions.is_empty() {
            md.push('\n');
            for line in regressions {
                let _ = writeln!(md, "- **regression**: {line}");
            }
        }
    }

    let problems = problems(report);
    let failures = gate_failures(report);
    if !problems.is_empty() || !failures.is_empty() {
        md.push_str("\n## Problems\n\n");
        for problem in problems {
            let _ = writeln!(md, "- {problem}");
        }
        for failure in failures {
            let _ = writeln!(md, "- **{failure}**");
        }
    }

    let ran: Vec<&RunRecord> = report
        .runs
        .iter()
        .filter(|r| r.status == RunStatus::Ran)
        .collect();
    let mut ops: Vec<&str> = ran
        .iter()
        .flat_map(|r| r.calls_per_request_by_op.keys().map(String::as_str))
        .collect();
    ops.sort_unstable();
    ops.dedup();
    if !ops.is_empty() {
        md.push_str("\n## DynamoDB calls per request, by operation\n\n");
        let mut names = vec!["subject", "users"];
        names.extend(ops.iter().copied());
        names.push("errors");
        let rows = ran
            .iter()
            .map(|r| {
                let mut row = vec![r.series(), r.users.to_string()];
                row.extend(
                    ops.iter()
                        .map(|op| num(r.calls_per_request_by_op.get(*op).copied(), 3)),
                );
                row.push(r.wire.as_ref().map_or_else(String::new, |w| {
                    w.errors
                        .iter()
                        .map(|(kind, n)| format!("{kind} {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }));
                row
            })
            .collect();
        md.push_str(
            &Table {
                headers: headers(&names),
                rows,
            }
            .markdown(),
        );
    }

    let hot: Vec<&RunRecord> = ran.iter().copied().filter(|r| r.hot.is_some()).collect();
    if !hot.is_empty() {
        md.push_str(
            "\n## Shared session (spec §6 G)\n\nLost updates = successful increments − the counter read back \
             after the run.\n\n",
        );
        let rows = hot
            .iter()
            .map(|r| {
                let h = r.hot.as_ref().expect("filtered");
                vec![
                    r.series(),
                    r.users.to_string(),
                    h.increments_ok.to_string(),
                    h.final_counter
                        .map_or_else(|| "(gone)".to_owned(), |c| c.to_string()),
                    h.lost_updates.to_string(),
                    h.lock_waits.to_string(),
                ]
            })
            .collect();
        md.push_str(
            &Table {
                headers: headers(&[
                    "subject",
                    "users",
                    "increments ok",
                    "final counter",
                    "lost updates",
                    "lock waits (CCF)",
                ]),
                rows,
            }
            .markdown(),
        );
    }

    let gc: Vec<&RunRecord> = ran.iter().copied().filter(|r| r.gc.is_some()).collect();
    if !gc.is_empty() {
        md.push_str("\n## Garbage collection under load\n\n");
        let rows = gc
            .iter()
            .map(|r| {
                let g = r.gc.as_ref().expect("filtered");
                let gc_p99 = r
                    .goose
                    .as_ref()
                    .and_then(|s| s.by_request.get("POST /gc"))
                    .map(|l| l.p99_ms);
                vec![
                    r.series(),
                    r.users.to_string(),
                    g.sweeps.to_string(),
                    num(gc_p99, 1),
                    g.seeded_expired.to_string(),
                    g.batch_deletes.to_string(),
                    g.sessions_lost.to_string(),
                ]
            })
            .collect();
        md.push_str(
            &Table {
                headers: headers(&[
                    "subject",
                    "users",
                    "sweeps",
                    "sweep p99 ms",
                    "expired seeded",
                    "deletes sent",
                    "live sessions lost",
                ]),
                rows,
            }
            .markdown(),
        );
    }

    let bracketed: Vec<&RunRecord> = ran
        .iter()
        .copied()
        .filter(|r| r.ceiling.is_some())
        .collect();
    if !bracketed.is_empty() {
        md.push_str(
            "\n## Backend ceiling around each point\n\nGetItem+UpdateItem pairs/s straight from \
             aws-sdk-dynamodb, just before and just after the users ran; the bound is what the backend could \
             serve at this subject's calls per request (mean ceiling × 2 calls ÷ calls/req).\n\n",
        );
        let rows = bracketed
            .iter()
            .map(|r| {
                vec![
                    r.series(),
                    r.users.to_string(),
                    num(r.ceiling.as_ref().map(|c| c.pairs_per_s), 0),
                    num(r.ceiling_after.as_ref().map(|c| c.pairs_per_s), 0),
                    num(r.bound_requests_per_s, 1),
                    num(r.requests_per_s, 1),
                    percent(r.ceiling_fraction),
                ]
            })
            .collect();
        md.push_str(
            &Table {
                headers: headers(&[
                    "subject",
                    "users",
                    "before",
                    "after",
                    "bound req/s",
                    "req/s",
                    "of ceiling",
                ]),
                rows,
            }
            .markdown(),
        );
    }

    if let Some(costs) = cost_table(report) {
        let _ = write!(md, "\n## Cost per request\n\n{COST_LEGEND}\n\n");
        md.push_str(&costs.markdown());
    }

    if !ran.is_empty() {
        md.push_str("\n## Load generator\n\n");
        let rows = ran
            .iter()
            .map(|r| {
                let cpu = |c: Option<&super::cpu::CpuShare>| {
                    c.map_or_else(
                        || "–".to_owned(),
                        |c| format!("{:.2} s ({:.1}%)", c.cpu_s, c.share * 100.0),
                    )
                };
                vec![
                    r.series(),
                    r.users.to_string(),
                    num(r.generator_cpu.as_ref().map(|c| c.wall_s), 1),
                    cpu(r.generator_cpu.as_ref()),
                    cpu(r.harness_cpu.as_ref()),
                    r.html_report
                        .clone()
                        .map_or_else(|| "–".to_owned(), |name| format!("[{name}]({name})")),
                ]
            })
            .collect();
        md.push_str(
            &Table {
                headers: headers(&[
                    "subject",
                    "users",
                    "wall s",
                    "generator CPU",
                    "harness process CPU (generator, proxy, in-process app)",
                    "goose report",
                ]),
                rows,
            }
            .markdown(),
        );
    }
    md
}

/// What makes the run fail: points the harness could not complete, and lost updates despite locking.
pub fn problems(report: &LoadReport) -> Vec<String> {
    let mut problems = Vec::new();
    for r in &report.runs {
        if r.status == RunStatus::Failed {
            problems.push(format!(
                "{} with {} users failed: {}",
                r.series(),
                r.users,
                first_line(r.reason.as_deref().unwrap_or(""))
            ));
        }
        if r.status == RunStatus::Ran
            && r.requests_total > 0
            && r.failures_total == r.requests_total
        {
            problems.push(format!(
                "{} with {} users: every request failed",
                r.series(),
                r.users
            ));
        }
        if r.locking
            && let Some(hot) = &r.hot
            && hot.lost_updates > 0
        {
            problems.push(format!(
                "{} with {} users lost {} updates although locking serialises the shared session",
                r.series(),
                r.users,
                hot.lost_updates
            ));
        }
    }
    problems
}
