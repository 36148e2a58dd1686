//! Metrics of one run, merged from goose (requests, latency) and the wire proxy (DynamoDB calls).
//!
//! The proxy keeps every record in memory until it is drained, so the run drains it about once a second into a
//! [`WireTally`], which keeps only counts: a long run's memory stays flat whatever its length.

use std::collections::BTreeMap;

use dynamo_wire::WireRecord;
use goose::metrics::{GooseMetrics, GooseRequestMetricTimingData, TimeBuckets};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The error DynamoDB answers a conditional write with when its condition fails: for the SDK's locking
/// connection, a lock held by someone else (spec §1.7).
pub const CONDITIONAL_CHECK_FAILED: &str = "ConditionalCheckFailedException";

/// DynamoDB calls counted by operation, from drained proxy records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WireTally {
    pub calls: u64,
    pub by_op: BTreeMap<String, OpTally>,
    /// Calls that got an error response, by error type (`HTTP <status>` when the body named none).
    pub errors: BTreeMap<String, u64>,
    /// Items a BatchWriteItem asked to delete (garbage collection's work).
    pub batch_deletes: u64,
    /// Sum of proxy → backend round trips, to report the mean backend latency.
    pub backend_ms_total: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpTally {
    pub calls: u64,
    /// Of which failed with ConditionalCheckFailedException (lock attempts that found the lock taken).
    pub conditional_check_failed: u64,
}

impl WireTally {
    pub fn absorb(&mut self, records: &[WireRecord]) {
        for record in records {
            self.calls += 1;
            self.backend_ms_total += record.latency_ms;
            let op = if record.op.is_empty() {
                "(no target)"
            } else {
                record.op.as_str()
            };
            let tally = self.by_op.entry(op.to_owned()).or_default();
            tally.calls += 1;
            if record.status != 200 {
                let kind = record
                    .error_type
                    .clone()
                    .unwrap_or_else(|| format!("HTTP {}", record.status));
                if kind == CONDITIONAL_CHECK_FAILED {
                    tally.conditional_check_failed += 1;
                }
                *self.errors.entry(kind).or_default() += 1;
            }
            if record.op == "BatchWriteItem" {
                self.batch_deletes += count_delete_requests(&record.request);
            }
        }
    }

    pub fn conditional_check_failed(&self) -> u64 {
        self.by_op
            .values()
            .map(|t| t.conditional_check_failed)
            .sum()
    }
}

/// `RequestItems: {table: [{DeleteRequest: ...}, ...]}` → how many deletes.
fn count_delete_requests(request: &Value) -> u64 {
    request
        .get("RequestItems")
        .and_then(Value::as_object)
        .map(|tables| {
            tables
                .values()
                .filter_map(Value::as_array)
                .flatten()
                .filter(|w| w.get("DeleteRequest").is_some())
                .count() as u64
        })
        .unwrap_or(0)
}

/// Latency percentiles over every request of a run, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    /// Absent from summaries written before it was measured.
    #[serde(default)]
    pub p95_ms: Option<f64>,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

/// What goose measured, summed over every request name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GooseSummary {
    /// Requests goose counted (after its reset once every user had started).
    pub requests: u64,
    pub failures: u64,
    /// Seconds goose held every user running (its Maintaining step), the window `requests` were counted in.
    pub window_s: f64,
    /// As measured.
    pub latency: Latency,
    /// With goose's coordinated-omission mitigation (average cadence): what a user would have seen had it not
    /// waited for the slow response before sending the next request. `None` when mitigation added nothing.
    pub latency_co: Option<Latency>,
    /// Synthetic requests the mitigation added, as a percentage of all.
    pub co_synthetic_percent: Option<f64>,
    /// Per request name (`POST /session/set`, ...): count, failures, p99 ms.
    pub by_request: BTreeMap<String, RequestLine>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestLine {
    pub count: u64,
    pub failures: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl GooseSummary {
    pub fn of(metrics: &GooseMetrics) -> GooseSummary {
        let mut raw = Merge::default();
        let mut co = Merge::default();
        let mut any_co = false;
        let mut by_request = BTreeMap::new();
        let mut failures = 0;
        for (name, aggregate) in &metrics.requests {
            raw.add(&aggregate.raw_data);
            match &aggregate.coordinated_omission_data {
                Some(data) => {
                    any_co = true;
                    co.add(data);
                }
                None => co.add(&aggregate.raw_data),
            }
            failures += aggregate.fail_count as u64;
            by_request.insert(
                name.clone(),
                RequestLine {
                    count: (aggregate.success_count + aggregate.fail_count) as u64,
                    failures: aggregate.fail_count as u64,
                    p50_ms: ms(aggregate.raw_data.percentile_us(0.5)),
                    p99_ms: ms(aggregate.raw_data.percentile_us(0.99)),
                },
            );
        }
        let raw = raw.finish();
        GooseSummary {
            requests: raw.counter as u64,
            failures,
            window_s: maintain_window_s(metrics),
            latency: latency_of(&raw),
            latency_co: any_co.then(|| latency_of(&co.finish())),
            co_synthetic_percent: metrics
                .coordinated_omission_metrics
                .as_ref()
                .filter(|m| m.synthetic_requests > 0)
                .map(|m| f64::from(m.synthetic_percentage)),
            by_request,
        }
    }

    pub fn requests_per_s(&self) -> f64 {
        if self.window_s > 0.0 {
            self.requests as f64 / self.window_s
        } else {
            0.0
        }
    }
}

/// The time goose held every user running: from the start of its Maintaining step to the next step. Goose
/// resets its metrics when that step starts, so the requests it reports were made in this window. A run bounded
/// by iterations is never reset and may have no such step: then the whole run, first step to last. Goose's own
/// whole-second duration is the last resort.
fn maintain_window_s(metrics: &GooseMetrics) -> f64 {
    use goose::test_plan::TestPlanStepAction;
    let history = &metrics.history;
    let seconds = |from: usize, to: usize| {
        let millis = (history[to].timestamp - history[from].timestamp).num_milliseconds();
        (millis > 0).then(|| millis as f64 / 1000.0)
    };
    let maintain = history
        .iter()
        .position(|step| matches!(step.action, TestPlanStepAction::Maintaining))
        .filter(|at| at + 1 < history.len());
    let window = match maintain {
        Some(at) => seconds(at, at + 1),
        None if history.len() > 1 => seconds(0, history.len() - 1),
        None => None,
    };
    window.unwrap_or(metrics.duration as f64)
}

/// Timing data summed over request names, kept as goose keeps it (log-linear buckets) so goose's own
/// percentile rule applies to the whole run.
#[derive(Default)]
struct Merge {
    buckets: BTreeMap<u64, usize>,
    counter: usize,
    minimum_us: Option<u64>,
    maximum_us: u64,
    total_us: u64,
}

impl Merge {
    fn add(&mut self, data: &GooseRequestMetricTimingData) {
        if data.counter == 0 {
            return;
        }
        for (&bucket, &count) in data.times_us.iter() {
            *self.buckets.entry(bucket).or_default() += count;
        }
        self.counter += data.counter;
        self.total_us += data.total_time_us;
        self.maximum_us = self.maximum_us.max(data.maximum_time_us);
        self.minimum_us = Some(
            self.minimum_us
                .map_or(data.minimum_time_us, |m| m.min(data.minimum_time_us)),
        );
    }

    fn finish(self) -> GooseRequestMetricTimingData {
        let mut times_us = TimeBuckets::new();
        for (bucket, count) in self.buckets {
            times_us.insert(bucket, count);
        }
        GooseRequestMetricTimingData {
            times_us,
            minimum_time_us: self.minimum_us.unwrap_or(0),
            maximum_time_us: self.maximum_us,
            total_time_us: self.total_us,
            counter: self.counter,
        }
    }
}

fn latency_of(data: &GooseRequestMetricTimingData) -> Latency {
    Latency {
        p50_ms: ms(data.percentile_us(0.5)),
        p90_ms: ms(data.percentile_us(0.9)),
        p95_ms: Some(ms(data.percentile_us(0.95))),
        p99_ms: ms(data.percentile_us(0.99)),
        p999_ms: ms(data.percentile_us(0.999)),
        max_ms: ms(data.maximum_time_us),
        mean_ms: if data.counter == 0 {
            0.0
        } else {
            data.total_time_us as f64 / data.counter as f64 / 1000.0
        },
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(op: &str, status: u16, error_type: Option<&str>, request: Value) -> WireRecord {
        WireRecord {
            i: 1,
            latency_ms: 1.5,
            conn: "C1".to_owned(),
            op: op.to_owned(),
            target: format!("DynamoDB_20120810.{op}"),
            request,
            status,
            error_type: error_type.map(str::to_owned),
            ..WireRecord::default()
        }
    }

    #[test]
    fn tally_counts_ops_errors_and_deletes() {
        let mut tally = WireTally::default();
        tally.absorb(&[
            record("GetItem", 200, None, Value::Null),
            record(
                "UpdateItem",
                400,
                Some(CONDITIONAL_CHECK_FAILED),
                Value::Null,
            ),
            record("UpdateItem", 200, None, Value::Null),
            record(
                "BatchWriteItem",
                200,
                None,
                json!({"RequestItems": {"t": [{"DeleteRequest": {}}, {"DeleteRequest": {}}]}}),
            ),
        ]);
        assert_eq!(tally.calls, 4);
        assert_eq!(tally.by_op["UpdateItem"].calls, 2);
        assert_eq!(tally.conditional_check_failed(), 1);
        assert_eq!(tally.errors[CONDITIONAL_CHECK_FAILED], 1);
        assert_eq!(tally.batch_deletes, 2);
        assert!((tally.backend_ms_total - 6.0).abs() < 1e-9);
    }

    #[test]
    fn merged_percentiles_cover_every_request_name() {
        let mut a = Merge::default();
        let mut one = GooseRequestMetricTimingData::default();
        // 99 fast requests at 1 ms under one name, one slow at 100 ms under another.
        one.times_us.insert(1000, 99);
        one.counter = 99;
        one.minimum_time_us = 1000;
        one.maximum_time_us = 1000;
        one.total_time_us = 99_000;
        let mut two = GooseRequestMetricTimingData::default();
        two.times_us.insert(99_328, 1); // the bucket holding 100 ms
        two.counter = 1;
        two.minimum_time_us = 100_000;
        two.maximum_time_us = 100_000;
        two.total_time_us = 100_000;
        a.add(&one);
        a.add(&two);
        let merged = a.finish();
        assert_eq!(merged.counter, 100);
        let latency = latency_of(&merged);
        assert!(latency.p50_ms < 1.1, "{latency:?}");
        assert!((latency.max_ms - 100.0).abs() < 1e-9);
        assert!((latency.mean_ms - 1.99).abs() < 1e-9);
    }
}
