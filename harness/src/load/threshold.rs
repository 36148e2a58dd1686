//! Pass/fail rules on a run's points, `--threshold 'p99<50ms'`, and the metrics they (and `--baseline`) name.
//!
//! A rule is `METRIC OP VALUE`: `p99<50ms`, `errors<0.1%`, `rps>500`, `lost_updates=0`. Every rule is checked
//! on every point that ran; a point that lacks the metric (lost updates outside hot-session, DynamoDB calls of
//! the url subject) is not checked by it, and a rule no point could be checked by says so.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::run::{LoadReport, RunRecord, RunStatus};

/// What a rule or a baseline comparison can look at: the figures the report already shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Latency percentiles over every request, as measured (ms).
    P50,
    P90,
    P95,
    P99,
    P999,
    /// p99 with goose's coordinated-omission mitigation (ms).
    P99Co,
    /// Failed requests ÷ requests (a share).
    Errors,
    /// Requests per second in goose's full-load window.
    Rps,
    /// Successful increments the shared counter does not show (hot-session).
    LostUpdates,
    /// DynamoDB calls per request.
    CallsPerRequest,
    /// ConditionalCheckFailed answers per request.
    CcfPerRequest,
    /// req/s ÷ what the backend's raw ceiling could serve at this point's calls per request (a share).
    OfCeiling,
    /// The harness's own CPU (load generator and wire proxy) per request, µs.
    HarnessUsPerRequest,
    /// DynamoDB calls per successful request with locking ÷ without, on a locking point with a partner.
    LockAmplification,
}

/// How a metric's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Milliseconds; a rule may write `ms`, `s` or `us`/`µs` (no unit: ms).
    Latency,
    /// A share, written as a percentage (`0.1%`), or `0`.
    Share,
    /// Requests per second (an optional `/s`).
    Rate,
    /// A whole count.
    Count,
    /// A plain number.
    Ratio,
    /// Microseconds (an optional `us`/`µs`).
    Micros,
}

/// Whether a larger value is better (throughput) or worse (latency, errors), for regressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

impl Metric {
    pub const ALL: [Metric; 14] = [
        Metric::P50,
        Metric::P90,
        Metric::P95,
        Metric::P99,
        Metric::P999,
        Metric::P99Co,
        Metric::Errors,
        Metric::Rps,
        Metric::LostUpdates,
        Metric::CallsPerRequest,
        Metric::CcfPerRequest,
        Metric::OfCeiling,
        Metric::HarnessUsPerRequest,
        Metric::LockAmplification,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P90 => "p90",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::P999 => "p999",
            Metric::P99Co => "p99_co",
            Metric::Errors => "errors",
            Metric::Rps => "rps",
            Metric::LostUpdates => "lost_updates",
            Metric::CallsPerRequest => "calls_per_request",
            Metric::CcfPerRequest => "ccf_per_request",
            Metric::OfCeiling => "of_ceiling",
            Metric::HarnessUsPerRequest => "harness_us_per_request",
            Metric::LockAmplification => "lock_amplification",
        }
    }

    pub fn kind(self) -> Kind {
        match self {
            Metric::P50
            | Metric::P90
            | Metric::P95
            | Metric::P99
            | Metric::P999
            | Metric::P99Co => Kind::Latency,
            Metric::Errors | Metric::OfCeiling => Kind::Share,
            Metric::Rps => Kind::Rate,
            Metric::LostUpdates => Kind::Count,
            Metric::CallsPerRequest | Metric::CcfPerRequest | Metric::LockAmplification => {
                Kind::Ratio
            }
            Metric::HarnessUsPerRequest => Kind::Micros,
        }
    }

    pub fn better(self) -> Better {
        match self {
            Metric::Rps | Metric::OfCeiling => Better::Higher,
            _ => Better::Lower,
        }
    }

    /// One line for the list of metrics in error messages and `--help`.
    fn help(self) -> &'static str {
        match self {
            Metric::P50 | Metric::P90 | Metric::P95 | Metric::P99 | Metric::P999 => {
                "latency percentile (ms, s or us; no unit: ms)"
            }
            Metric::P99Co => "p99 with coordinated-omission mitigation (ms, s or us)",
            Metric::Errors => "failed requests as a share (a percentage: errors<0.1%)",
            Metric::Rps => "requests per second (rps>500)",
            Metric::LostUpdates => "hot-session increments the counter lost (lost_updates=0)",
            Metric::CallsPerRequest => "DynamoDB calls per request",
            Metric::CcfPerRequest => "ConditionalCheckFailed answers per request",
            Metric::OfCeiling => "share of the backend's raw ceiling (a percentage)",
            Metric::HarnessUsPerRequest => "load generator + wire proxy CPU per request (us)",
            Metric::LockAmplification => {
                "calls per successful request, locking ÷ not (locking points)"
            }
        }
    }

    /// The metric's value at a point, where the point has it.
    pub fn of(self, record: &RunRecord, report: &LoadReport) -> Option<f64> {
        if record.status != RunStatus::Ran {
            return None;
        }
        let latency = || record.goose.as_ref().map(|g| &g.latency);
        match self {
            Metric::P50 => latency().map(|l| l.p50_ms),
            Metric::P90 => latency().map(|l| l.p90_ms),
            Metric::P95 => latency().and_then(|l| l.p95_ms),
            Metric::P99 => latency().map(|l| l.p99_ms),
            Metric::P999 => latency().map(|l| l.p999_ms),
            Metric::P99Co => record.goose.as_ref().map(|g| {
                g.latency_co
                    .as_ref()
                    .map_or(g.latency.p99_ms, |co| co.p99_ms)
            }),
            Metric::Errors => (record.requests_total > 0)
                .then(|| record.failures_total as f64 / record.requests_total as f64),
            Metric::Rps => record.requests_per_s,
            Metric::LostUpdates => record.hot.as_ref().map(|h| h.lost_updates as f64),
            Metric::CallsPerRequest => record.calls_per_request,
            Metric::CcfPerRequest => record.ccf_per_request,
            Metric::OfCeiling => record.ceiling_fraction,
            Metric::HarnessUsPerRequest => record.cost.as_ref().and_then(|c| c.harness_us()),
            Metric::LockAmplification => report
                .amplification
                .iter()
                .find(|a| record.locking && a.subject == record.subject && a.users == record.users)
                .and_then(|a| a.factor),
        }
    }

    /// `62.3 ms`, `0.12%`, `512.0 req/s`, `3`, `2.04`, `180 µs`.
    pub fn show(self, value: f64) -> String {
        match self.kind() {
            Kind::Latency => format!("{value:.1} ms"),
            Kind::Share => format!("{}%", trim_number(value * 100.0, 3)),
            Kind::Rate => format!("{value:.1} req/s"),
            Kind::Count => format!("{value:.0}"),
            Kind::Ratio => format!("{value:.3}"),
            Kind::Micros => format!("{value:.0} µs"),
        }
    }
}

/// A number with at most `decimals` decimals and no trailing zeros: 0.1, 2, 0.125.
fn trim_number(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.').to_owned(),
        false => text,
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metric {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let wanted = text.trim().to_ascii_lowercase().replace('-', "_");
        let alias = match wanted.as_str() {
            "p99.9" => "p999",
            "req/s" | "requests_per_s" => "rps",
            "error" | "error_rate" | "failures" => "errors",
            other => other,
        };
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == alias)
            .ok_or_else(|| format!("unknown metric `{}`; {}", text.trim(), metric_list()))
    }
}

/// The metrics a rule may name, for error messages.
pub fn metric_list() -> String {
    let lines: Vec<String> = Metric::ALL
        .iter()
        .map(|m| format!("  {:<24} {}", m.name(), m.help()))
        .collect();
    format!("the metrics are:\n{}", lines.join("\n"))
}

/// How a rule compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "<")]
    Less,
    #[serde(rename = "<=")]
    AtMost,
    #[serde(rename = ">")]
    Greater,
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = "=")]
    Equal,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Less => "<",
            Op::AtMost => "<=",
            Op::Greater => ">",
            Op::AtLeast => ">=",
            Op::Equal => "=",
        }
    }

    pub fn holds(self, value: f64, limit: f64) -> bool {
        let close = (value - limit).abs() <= 1e-9 * limit.abs().max(1.0);
        match self {
            Op::Less => value < limit && !close,
            Op::AtMost => value <= limit || close,
            Op::Greater => value > limit && !close,
            Op::AtLeast => value >= limit || close,
            Op::Equal => close,
        }
    }
}

/// One `--threshold`: `p99<50ms` is `{metric: P99, op: Less, value: 50.0}` (values in the metric's own unit:
/// ms for latency, a fraction for shares, µs for CPU).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub metric: Metric,
    pub op: Op,
    pub value: f64,
    /// As written on the command line.
    pub text: String,
}

/// A rule that cannot be read, with what was wrong and how to write it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad threshold `{rule}`: {problem}")]
pub struct RuleError {
    pub rule: String,
    pub problem: String,
}

const FORM: &str = "a rule is METRIC OP VALUE, e.g. 'p99<50ms', 'errors<0.1%', 'rps>500' or 'lost_updates=0' \
                    (OP: <, <=, >, >=, =)";

impl FromStr for Rule {
    type Err = RuleError;

    fn from_str(text: &str) -> Result<Self, RuleError> {
        let fail = |problem: String| RuleError {
            rule: text.to_owned(),
            problem,
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(fail(format!("empty; {FORM}")));
        }
        let Some(at) = trimmed.find(['<', '>', '=', '!']) else {
            return Err(fail(format!("no comparison; {FORM}")));
        };
        let (name, rest) = trimmed.split_at(at);
        let (op, raw) = [
            ("<=", Op::AtMost),
            (">=", Op::AtLeast),
            ("==", Op::Equal),
            ("<", Op::Less),
            (">", Op::Greater),
            ("=", Op::Equal),
        ]
        .into_iter()
        .find_map(|(symbol, op)| rest.strip_prefix(symbol).map(|raw| (op, raw)))
        .ok_or_else(|| fail(format!("`{}` is not a comparison; {FORM}", &rest[..1])))?;
        if name.trim().is_empty() {
            return Err(fail(format!(
                "no metric before `{}`; {}",
                op.symbol(),
                metric_list()
            )));
        }
        let metric = name.parse::<Metric>().map_err(fail)?;
        let value = parse_value(metric, raw.trim()).map_err(fail)?;
        Ok(Rule {
            metric,
            op,
            value,
            text: format!("{}{}{}", metric.name(), op.symbol(), raw.replace(' ', "")),
        })
    }
}

/// A value in the metric's own unit.
fn parse_value(metric: Metric, text: &str) -> Result<f64, String> {
    if text.is_empty() {
        return Err(format!("no value after the comparison; {FORM}"));
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e'))
        .unwrap_or(text.len());
    // `1e3ms` is read as a number and a unit; `e` alone is not a number.
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number"))?;
    if !number.is_finite() || number < 0.0 {
        return Err(format!("`{text}`: the value must be a number of 0 or more"));
    }
    let unit = unit.trim();
    let bad_unit = |allowed: &str| {
        format!(
            "`{unit}` is not a unit for {} ({}); use {allowed}",
            metric.name(),
            metric.help()
        )
    };
    match metric.kind() {
        Kind::Latency => match unit {
            "" | "ms" => Ok(number),
            "s" => Ok(number * 1000.0),
            "us" | "µs" => Ok(number / 1000.0),
            _ => Err(bad_unit("ms, s or us")),
        },
        Kind::Share => match unit {
            "%" => Ok(number / 100.0),
            "" if number == 0.0 => Ok(0.0),
            "" => Err(format!(
                "{} is a share: give it as a percentage, e.g. {}<{number}%",
                metric.name(),
                metric.name()
            )),
            _ => Err(bad_unit("a percentage, e.g. 0.1%")),
        },
        Kind::Rate => match unit {
            "" | "/s" | "req/s" => Ok(number),
            _ => Err(bad_unit("a plain number of requests per second")),
        },
        Kind::Count => match unit {
            "" if number.fract() == 0.0 => Ok(number),
            "" => Err(format!("{} is a count: a whole number", metric.name())),
            _ => Err(bad_unit("a plain whole number")),
        },
        Kind::Ratio => match unit {
            "" | "x" | "×" => Ok(number),
            _ => Err(bad_unit("a plain number")),
        },
        Kind::Micros => match unit {
            "" | "us" | "µs" => Ok(number),
            "ms" => Ok(number * 1000.0),
            _ => Err(bad_unit("us")),
        },
    }
}

/// `10%` → 0.10, for `--max-regression`.
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    let Some(number) = trimmed.strip_suffix('%') else {
        return Err(format!(
            "`{trimmed}`: give the largest regression allowed as a percentage, e.g. 10%"
        ));
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 => Ok(n / 100.0),
        _ => Err(format!("`{trimmed}` is not a percentage of 0 or more")),
    }
}

/// How one rule fared over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleOutcome {
    pub rule: Rule,
    /// Points that had the metric and were checked.
    pub checked: usize,
    pub breaches: Vec<Breach>,
}

/// A point that broke a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    pub subject: String,
    pub locking: bool,
    pub users: usize,
    pub value: f64,
}

impl RuleOutcome {
    pub fn passed(&self) -> bool {
        self.breaches.is_empty()
    }

    /// `p99<50ms: rust-http with 8 users: p99 62.3 ms` per breach, or `p99<50ms: met on 4 points`.
    pub fn lines(&self) -> Vec<String> {
        if self.checked == 0 {
            return vec![format!(
                "{}: not checked (no point that ran has {})",
                self.rule.text, self.rule.metric
            )];
        }
        if self.breaches.is_empty() {
            return vec![format!(
                "{}: met on {} point{}",
                self.rule.text,
                self.checked,
                if self.checked == 1 { "" } else { "s" }
            )];
        }
        self.breaches
            .iter()
            .map(|b| {
                format!(
                    "{} BREACHED: {}{} with {} users: {} {}",
                    self.rule.text,
                    b.subject,
                    if b.locking { " (locking)" } else { "" },
                    b.users,
                    self.rule.metric,
                    self.rule.metric.show(b.value)
                )
            })
            .collect()
    }
}

/// Checks every rule on every point.
pub fn evaluate(rules: &[Rule], report: &LoadReport) -> Vec<RuleOutcome> {
    rules
        .iter()
        .map(|rule| {
            let mut outcome = RuleOutcome {
                rule: rule.clone(),
                checked: 0,
                breaches: Vec::new(),
            };
            for record in &report.runs {
                let Some(value) = rule.metric.of(record, report) else {
                    continue;
                };
                outcome.checked += 1;
                if !rule.op.holds(value, rule.value) {
                    outcome.breaches.push(Breach {
                        subject: record.subject.clone(),
                        locking: record.locking,
                        users: record.users,
                        value,
                    });
                }
            }
            outcome
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> Rule {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn error(text: &str) -> String {
        text.parse::<Rule>().unwrap_err().to_string()
    }

    #[test]
    fn rules_parse_with_units() {
        let r = rule("p99<50ms");
        assert_eq!((r.metric, r.op, r.value), (Metric::P99, Op::Less, 50.0));
        assert_eq!(r.text, "p99<50ms");
        assert_eq!(rule("p95 <= 0.2s").value, 200.0);
        assert_eq!(rule("p50<500us").value, 0.5);
        assert_eq!(rule("p99.9<1s").metric, Metric::P999);
        assert_eq!(rule("p99 < 40").value, 40.0);
        let e = rule("errors<0.1%");
        assert_eq!((e.metric, e.op), (Metric::Errors, Op::Less));
        assert!((e.value - 0.001).abs() < 1e-12);
        assert_eq!(rule("errors=0").value, 0.0);
        let r = rule("rps>500");
        assert_eq!((r.metric, r.op, r.value), (Metric::Rps, Op::Greater, 500.0));
        assert_eq!(rule("rps>=1e3").value, 1000.0);
        let l = rule("lost_updates=0");
        assert_eq!(
            (l.metric, l.op, l.value),
            (Metric::LostUpdates, Op::Equal, 0.0)
        );
        assert_eq!(rule("lost_updates==0").op, Op::Equal);
        assert_eq!(rule("calls_per_request<=2.5").value, 2.5);
        assert_eq!(rule("ccf_per_request<0.5").metric, Metric::CcfPerRequest);
        assert!((rule("of_ceiling>50%").value - 0.5).abs() < 1e-12);
        assert_eq!(rule("harness_us_per_request<200us").value, 200.0);
        assert_eq!(rule("lock_amplification<4x").value, 4.0);
        assert_eq!(rule("P99-CO<1s").metric, Metric::P99Co);
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        let unknown = error("p98<50ms");
        assert!(unknown.contains("unknown metric `p98`"), "{unknown}");
        for name in [
            "p50",
            "p95",
            "p99",
            "errors",
            "rps",
            "lost_updates",
            "calls_per_request",
        ] {
            assert!(unknown.contains(name), "{name} not listed: {unknown}");
        }
        assert!(unknown.contains("ccf_per_request"), "{unknown}");
        assert!(
            error("p99 50ms").contains("no comparison"),
            "{}",
            error("p99 50ms")
        );
        assert!(error("p99!=5").contains("not a comparison"));
        assert!(error("<50ms").contains("no metric"));
        assert!(error("p99<").contains("no value"));
        assert!(error("p99<fast").contains("does not start with a number"));
        assert!(error("p99<50kg").contains("`kg` is not a unit for p99"));
        assert!(error("errors<0.1").contains("give it as a percentage"));
        assert!(error("lost_updates<0.5").contains("whole number"));
        assert!(error("rps>-3").contains("0 or more"));
        assert!(error("").contains("empty"));
    }

    #[test]
    fn comparisons() {
        assert!(Op::Less.holds(49.9, 50.0) && !Op::Less.holds(50.0, 50.0));
        assert!(Op::AtMost.holds(50.0, 50.0) && !Op::AtMost.holds(50.1, 50.0));
        assert!(Op::Greater.holds(501.0, 500.0) && !Op::Greater.holds(500.0, 500.0));
        assert!(Op::AtLeast.holds(500.0, 500.0));
        assert!(Op::Equal.holds(0.0, 0.0) && !Op::Equal.holds(1.0, 0.0));
        // 0.1 + 0.2 is 0.3 for a rule.
        assert!(Op::Equal.holds(0.1 + 0.2, 0.3));
    }

    #[test]
    fn percents() {
        assert!((parse_percent("10%").unwrap() - 0.1).abs() < 1e-12);
        assert!(parse_percent("10").unwrap_err().contains("percentage"));
        assert!(parse_percent("-1%").is_err());
    }

    #[test]
    fn values_show_in_their_unit() {
        assert_eq!(Metric::P99.show(62.34), "62.3 ms");
        assert_eq!(Metric::Errors.show(0.001), "0.1%");
        assert_eq!(Metric::Rps.show(512.0), "512.0 req/s");
        assert_eq!(Metric::LostUpdates.show(3.0), "3");
    }
}
