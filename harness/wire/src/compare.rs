//! Call-by-call comparison of two normalised traces, with a diff a human can read.
//!
//! What is compared per call: `op`, `request` (structural JSON equality; object member order is not
//! significant), `status`, `error_type`, and, when asked, `response`. Not compared: timing, connection and
//! step labels, `target` (it follows from `op`), and the injection marker.

use std::fmt;

use serde_json::Value;

use crate::normalise::parse_now_prefix;
use crate::record::{WireRecord, to_python_json};

/// How to compare. `Default`: request, status and error type; responses ignored; ±1 s on `<NOW+d>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompareOptions {
    /// Also compare response bodies. Off by default: backends differ (moto returns ConsumedCapacity and
    /// ignores AttributesToGet, dynalite does neither).
    pub compare_response: bool,
    /// Paths left out of the comparison, dotted from the record: `request.ReturnConsumedCapacity`,
    /// `response.ConsumedCapacity`, `response.Items.*.data`, `error_type`. `*` matches any member or element.
    pub ignore: Vec<String>,
    /// Which runs of consecutive identical calls count as "one or more".
    pub collapse: Collapse,
    /// `<NOW+d>` tokens match when their offsets differ by at most this many seconds (`<NOW+1439>` matches
    /// `<NOW+1440>` with 1): an offset computed from a clock read just before the second changed.
    pub now_tolerance_s: i64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            compare_response: false,
            ignore: Vec::new(),
            collapse: Collapse::Off,
            now_tolerance_s: 1,
        }
    }
}

/// Collapsing of runs whose length depends on timing, e.g. the ConditionalCheckFailed retries of a lock wait.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Collapse {
    /// Every call counts (C56 expects exactly 11 throttled GETs).
    #[default]
    Off,
    /// Runs of identical failed calls (any error type when the list is empty, else only those types).
    FailedRuns { error_types: Vec<String> },
    /// Runs of any identical calls.
    AllRuns,
}

/// The differences between two traces; `Display` renders one line per difference.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.render())]
pub struct CallsDiff {
    /// Compared calls (after collapsing) on each side.
    pub expected_calls: usize,
    pub actual_calls: usize,
    pub entries: Vec<CallDiff>,
}

/// One difference. `call` is the 1-based position in the compared sequence (after collapsing); `expected_i`
/// and `actual_i` are the records' own `i`.
#[derive(Debug, Clone, PartialEq)]
pub enum CallDiff {
    /// Both sides have a call here, and they differ at `path`.
    Mismatch {
        call: usize,
        expected_i: u64,
        actual_i: u64,
        op: String,
        path: String,
        expected: String,
        actual: String,
    },
    /// The expected call has no counterpart.
    Missing {
        call: usize,
        expected_i: u64,
        summary: String,
    },
    /// The actual call has no counterpart.
    Extra {
        call: usize,
        actual_i: u64,
        summary: String,
    },
}

/// Most lines a rendered diff shows; the rest are counted.
const MAX_RENDERED: usize = 40;
/// Longest rendered JSON value before it is cut.
const MAX_VALUE_CHARS: usize = 240;

impl CallsDiff {
    fn render(&self) -> String {
        let mut out = format!(
            "{} difference(s) between expected ({} calls) and actual ({} calls):",
            self.entries.len(),
            self.expected_calls,
            self.actual_calls
        );
        let mut lines = 0;
        let mut k = 0;
        while k < self.entries.len() && lines < MAX_RENDERED {
            // Consecutive missing (or extra) calls that look alike, typically retries, take one line.
            let run = self.entries[k..]
                .iter()
                .zip(k..)
                .take_while(|(entry, n)| self.entries[k].continued_by(entry, n - k))
                .count();
            out.push('\n');
            if run > 1 {
                out.push_str(&self.entries[k].render_run(&self.entries[k + run - 1], run));
            } else {
                out.push_str(&self.entries[k].to_string());
            }
            k += run;
            lines += 1;
        }
        if k < self.entries.len() {
            out.push_str(&format!("\n… and {} more", self.entries.len() - k));
        }
        out
    }
}

impl CallDiff {
    /// Whether `other` is the `offset`-th successor of `self` in a run of alike missing or extra calls.
    fn continued_by(&self, other: &CallDiff, offset: usize) -> bool {
        match (self, other) {
            (
                CallDiff::Missing {
                    call: a,
                    summary: s,
                    ..
                },
                CallDiff::Missing {
                    call: b,
                    summary: t,
                    ..
                },
            )
            | (
                CallDiff::Extra {
                    call: a,
                    summary: s,
                    ..
                },
                CallDiff::Extra {
                    call: b,
                    summary: t,
                    ..
                },
            ) => *b == a + offset && s == t,
            _ => offset == 0,
        }
    }

    fn render_run(&self, last: &CallDiff, count: usize) -> String {
        match (self, last) {
            (
                CallDiff::Missing {
                    call,
                    expected_i,
                    summary,
                },
                CallDiff::Missing {
                    call: last_call,
                    expected_i: last_i,
                    ..
                },
            ) => format!(
                "calls {call}-{last_call}: missing {count}× (expected i={expected_i}..{last_i}): {summary}"
            ),
            (
                CallDiff::Extra {
                    call,
                    actual_i,
                    summary,
                },
                CallDiff::Extra {
                    call: last_call,
                    actual_i: last_i,
                    ..
                },
            ) => {
                format!(
                    "calls {call}-{last_call}: unexpected {count}× (actual i={actual_i}..{last_i}): {summary}"
                )
            }
            _ => self.to_string(),
        }
    }
}

impl fmt::Display for CallDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallDiff::Mismatch {
                call,
                expected_i,
                actual_i,
                op,
                path,
                expected,
                actual,
            } => write!(
                f,
                "call {call} {op} (expected i={expected_i}, actual i={actual_i}) at {path}:\n  expected: {expected}\n  actual:   {actual}"
            ),
            CallDiff::Missing {
                call,
                expected_i,
                summary,
            } => {
                write!(
                    f,
                    "call {call}: missing (expected i={expected_i}): {summary}"
                )
            }
            CallDiff::Extra {
                call,
                actual_i,
                summary,
            } => {
                write!(
                    f,
                    "call {call}: unexpected (actual i={actual_i}): {summary}"
                )
            }
        }
    }
}

/// Compares two normalised traces call by call (see the module documentation).
///
/// The two sequences are first aligned on their identical calls (longest common subsequence), so one call
/// too many or too few shows up as one extra or missing call rather than as every later call differing;
/// the calls between two aligned ones are then paired in order and diffed field by field.
pub fn compare_calls(
    expected: &[WireRecord],
    actual: &[WireRecord],
    opts: &CompareOptions,
) -> Result<(), CallsDiff> {
    let ignore: Vec<Vec<&str>> = opts.ignore.iter().map(|p| p.split('.').collect()).collect();
    let expected = collapse(
        expected
            .iter()
            .map(|r| Call::new(r, opts, &ignore))
            .collect(),
        opts,
    );
    let actual = collapse(
        actual.iter().map(|r| Call::new(r, opts, &ignore)).collect(),
        opts,
    );
    let mut entries = Vec::new();
    let (mut e_at, mut a_at) = (0, 0);
    let mut anchors = align(&expected, &actual, opts.now_tolerance_s);
    anchors.push((expected.len(), actual.len()));
    for (e_next, a_next) in anchors {
        let (e_gap, a_gap) = (e_next - e_at, a_next - a_at);
        for k in 0..e_gap.min(a_gap) {
            diff_pair(
                e_at + k,
                &expected[e_at + k],
                &actual[a_at + k],
                opts,
                &mut entries,
            );
        }
        for (n, e) in expected
            .iter()
            .enumerate()
            .take(e_next)
            .skip(e_at + a_gap.min(e_gap))
        {
            entries.push(CallDiff::Missing {
                call: n + 1,
                expected_i: e.record.i,
                summary: e.summary(),
            });
        }
        for (n, a) in actual
            .iter()
            .enumerate()
            .take(a_next)
            .skip(a_at + a_gap.min(e_gap))
        {
            entries.push(CallDiff::Extra {
                call: n + 1,
                actual_i: a.record.i,
                summary: a.summary(),
            });
        }
        // Skip the aligned (identical) pair itself.
        (e_at, a_at) = (e_next + 1, a_next + 1);
    }
    if entries.is_empty() {
        Ok(())
    } else {
        Err(CallsDiff {
            expected_calls: expected.len(),
            actual_calls: actual.len(),
            entries,
        })
    }
}

/// Above this many cells the alignment table is not built and calls are paired by position.
const MAX_ALIGNMENT_CELLS: usize = 4_000_000;

/// Index pairs of identical calls forming a longest common subsequence, in order.
fn align(expected: &[Call<'_>], actual: &[Call<'_>], tolerance: i64) -> Vec<(usize, usize)> {
    let (n, m) = (expected.len(), actual.len());
    if n == 0 || m == 0 {
        return Vec::new();
    }
    let same = |i: usize, j: usize| {
        let (e, a) = (expected[i].record, actual[j].record);
        // Cheap checks first: most pairs differ in operation or outcome.
        e.op == a.op
            && e.status == a.status
            && expected[i].run.is_some() == actual[j].run.is_some()
            && values_match(&expected[i].view, &actual[j].view, tolerance)
    };
    if n.saturating_mul(m) > MAX_ALIGNMENT_CELLS {
        return (0..n.min(m))
            .filter(|&k| same(k, k))
            .map(|k| (k, k))
            .collect();
    }
    // lcs[i][j]: length of the LCS of expected[i..] and actual[j..].
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    let mut matches = vec![false; n * m];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            matches[i * m + j] = same(i, j);
            lcs[at(i, j)] = if matches[i * m + j] {
                lcs[at(i + 1, j + 1)] + 1
            } else {
                lcs[at(i + 1, j)].max(lcs[at(i, j + 1)])
            };
        }
    }
    let mut pairs = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if matches[i * m + j] {
            pairs.push((i, j));
            i += 1;
            j += 1;
        } else if lcs[at(i + 1, j)] >= lcs[at(i, j + 1)] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

fn diff_pair(
    n: usize,
    e: &Call<'_>,
    a: &Call<'_>,
    opts: &CompareOptions,
    entries: &mut Vec<CallDiff>,
) {
    let mut diffs = Vec::new();
    diff_values("", &e.view, &a.view, opts.now_tolerance_s, &mut diffs);
    if e.run.is_some() != a.run.is_some() {
        let runs = |c: &Call<'_>| {
            c.run.map_or("1 call".to_owned(), |k| {
                format!("{k} identical calls (one or more)")
            })
        };
        diffs.push(("(repetition)".to_owned(), runs(e), runs(a)));
    }
    let op_differs = e.record.op != a.record.op;
    for (path, ev, av) in diffs {
        // A different operation makes the request diff noise: report the operation only.
        if op_differs && path != "op" {
            continue;
        }
        entries.push(CallDiff::Mismatch {
            call: n + 1,
            expected_i: e.record.i,
            actual_i: a.record.i,
            op: e.label(),
            path,
            expected: ev,
            actual: av,
        });
    }
}

/// A record reduced to what is compared, plus how many identical calls it stands for.
struct Call<'r> {
    record: &'r WireRecord,
    view: Value,
    /// Some(n) for a collapsed run of n ≥ 1 calls.
    run: Option<usize>,
}

impl<'r> Call<'r> {
    fn new(record: &'r WireRecord, opts: &CompareOptions, ignore: &[Vec<&str>]) -> Self {
        let mut view = serde_json::Map::new();
        view.insert("op".into(), Value::String(record.op.clone()));
        view.insert("request".into(), record.request.clone());
        view.insert("status".into(), Value::from(record.status));
        view.insert(
            "error_type".into(),
            record.error_type.clone().map_or(Value::Null, Value::String),
        );
        if opts.compare_response {
            view.insert("response".into(), record.response.clone());
        }
        let mut view = Value::Object(view);
        for path in ignore {
            remove_path(&mut view, path);
        }
        Call {
            record,
            view,
            run: None,
        }
    }

    fn label(&self) -> String {
        match self.run {
            Some(_) => format!("{} (one or more)", self.record.op),
            None => self.record.op.clone(),
        }
    }

    fn summary(&self) -> String {
        let status = match &self.record.error_type {
            Some(t) => format!("{} {t}", self.record.status),
            None => self.record.status.to_string(),
        };
        let run = match self.run {
            Some(n) => format!(" ×{n} (one or more)"),
            None => String::new(),
        };
        format!(
            "{}{run} → {status} {}",
            self.record.op,
            clip(&to_python_json(&self.record.request))
        )
    }

    fn collapsible(&self, collapse: &Collapse) -> bool {
        match collapse {
            Collapse::Off => false,
            Collapse::AllRuns => true,
            Collapse::FailedRuns { error_types } => match &self.record.error_type {
                Some(t) => error_types.is_empty() || error_types.contains(t),
                None => false,
            },
        }
    }
}

fn collapse<'r>(calls: Vec<Call<'r>>, opts: &CompareOptions) -> Vec<Call<'r>> {
    let mut out: Vec<Call<'r>> = Vec::with_capacity(calls.len());
    for call in calls {
        if call.collapsible(&opts.collapse) {
            if let Some(last) = out.last_mut()
                && last.run.is_some()
                && values_match(&last.view, &call.view, opts.now_tolerance_s)
            {
                last.run = last.run.map(|n| n + 1);
                continue;
            }
            out.push(Call {
                run: Some(1),
                ..call
            });
        } else {
            out.push(call);
        }
    }
    out
}

fn remove_path(v: &mut Value, path: &[&str]) {
    let Some((head, rest)) = path.split_first() else {
        return;
    };
    match v {
        Value::Object(map) if rest.is_empty() => {
            if *head == "*" {
                map.clear();
            } else {
                map.shift_remove(*head);
            }
        }
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if *head == "*" || k == head {
                    remove_path(child, rest);
                }
            }
        }
        Value::Array(items) if rest.is_empty() => {
            if *head == "*" {
                items.clear();
            } else if let Ok(n) = head.parse::<usize>()
                && n < items.len()
            {
                items[n] = Value::Null;
            }
        }
        Value::Array(items) => {
            for (n, child) in items.iter_mut().enumerate() {
                if *head == "*" || head.parse() == Ok(n) {
                    remove_path(child, rest);
                }
            }
        }
        _ => {}
    }
}

fn values_match(a: &Value, b: &Value, tolerance: i64) -> bool {
    let mut diffs = Vec::new();
    diff_values("", a, b, tolerance, &mut diffs);
    diffs.is_empty()
}

/// Collects (path, expected, actual) for every place where `e` and `a` differ.
fn diff_values(
    path: &str,
    e: &Value,
    a: &Value,
    tolerance: i64,
    out: &mut Vec<(String, String, String)>,
) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match (e, a) {
        (Value::Object(em), Value::Object(am)) => {
            for (k, ev) in em {
                match am.get(k) {
                    Some(av) => diff_values(&join(k), ev, av, tolerance, out),
                    None => out.push((join(k), clip(&to_python_json(ev)), "(absent)".into())),
                }
            }
            for (k, av) in am.iter().filter(|(k, _)| !em.contains_key(*k)) {
                out.push((join(k), "(absent)".into(), clip(&to_python_json(av))));
            }
        }
        (Value::Array(ea), Value::Array(aa)) => {
            for (n, (ev, av)) in ea.iter().zip(aa).enumerate() {
                diff_values(&format!("{path}[{n}]"), ev, av, tolerance, out);
            }
            if ea.len() != aa.len() {
                out.push((
                    format!("{path} (length)"),
                    format!("{} elements", ea.len()),
                    format!("{} elements", aa.len()),
                ));
            }
        }
        (Value::String(es), Value::String(as_)) => {
            if !strings_match(es, as_, tolerance) {
                out.push((
                    path.to_owned(),
                    clip(&to_python_json(e)),
                    clip(&to_python_json(a)),
                ));
            }
        }
        (Value::Number(en), Value::Number(an)) => {
            // 1 and 1.0 are the same number to DynamoDB's metadata; serde_json keeps them apart.
            if en != an && en.as_f64() != an.as_f64() {
                out.push((path.to_owned(), en.to_string(), an.to_string()));
            }
        }
        _ if e == a => {}
        _ => out.push((
            path.to_owned(),
            clip(&to_python_json(e)),
            clip(&to_python_json(a)),
        )),
    }
}

/// String equality where `<NOW±d>` tokens (whole values or embedded, as in CakePHP's `i:<NOW+28800>;`) match
/// within `tolerance` seconds.
pub(crate) fn strings_match(e: &str, a: &str, tolerance: i64) -> bool {
    if e == a {
        return true;
    }
    let (mut e, mut a) = (e, a);
    loop {
        match (e.find("<NOW"), a.find("<NOW")) {
            (Some(ep), Some(ap)) if e[..ep] == a[..ap] => {
                match (parse_now_prefix(&e[ep..]), parse_now_prefix(&a[ap..])) {
                    (Some((ed, elen)), Some((ad, alen))) if (ed - ad).abs() <= tolerance => {
                        e = &e[ep + elen..];
                        a = &a[ap + alen..];
                    }
                    (Some(_), Some(_)) => return false,
                    // Not a token on either side: compare the rest literally.
                    _ => return e[ep..] == a[ap..],
                }
            }
            _ => return e == a,
        }
    }
}

fn clip(s: &str) -> String {
    if s.chars().count() <= MAX_VALUE_CHARS {
        return s.to_owned();
    }
    let cut: String = s.chars().take(MAX_VALUE_CHARS).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(i: u64, op: &str, request: Value, status: u16, error_type: Option<&str>) -> WireRecord {
        WireRecord {
            i,
            dt_ms: 0.0,
            latency_ms: 0.0,
            conn: "C1".into(),
            step: "s".into(),
            op: op.into(),
            target: format!("DynamoDB_20120810.{op}"),
            request,
            status,
            error_type: error_type.map(str::to_owned),
            response: json!({"ConsumedCapacity": {"CapacityUnits": 1.0}}),
            injected: None,
            request_body: None,
            response_body: None,
            t_unix: None,
        }
    }

    fn put(i: u64, expires: &str, data: &str) -> WireRecord {
        let req = json!({"TableName": "t", "Key": {"id": {"S": "CAKEPHP_<SID1>"}},
                         "AttributeUpdates": {"expires": {"Value": {"N": expires}}, "data": {"Value": {"S": data}}}});
        rec(i, "UpdateItem", req, 200, None)
    }

    fn lock(i: u64, ok: bool) -> WireRecord {
        let req = json!({"Key": {"id": {"S": "CAKEPHP_<SID1>"}}, "Expected": {"lock": {"Exists": false}}});
        if ok {
            rec(i, "UpdateItem", req, 200, None)
        } else {
            rec(
                i,
                "UpdateItem",
                req,
                400,
                Some("ConditionalCheckFailedException"),
            )
        }
    }

    #[test]
    fn map_order_is_not_significant_and_now_has_one_second_of_tolerance() {
        let e = put(1, "<NOW+1440>", "time;i:<NOW+28800>;");
        let mut a = put(1, "<NOW+1439>", "time;i:<NOW+28801>;");
        let reversed: serde_json::Map<_, _> = a
            .request
            .as_object()
            .unwrap()
            .clone()
            .into_iter()
            .rev()
            .collect();
        assert_ne!(
            to_python_json(&a.request),
            to_python_json(&Value::Object(reversed.clone()))
        );
        a.request = Value::Object(reversed);
        assert_eq!(
            compare_calls(std::slice::from_ref(&e), &[a], &CompareOptions::default()),
            Ok(())
        );
        let a = put(1, "<NOW+1438>", "time;i:<NOW+28800>;");
        let diff = compare_calls(&[e], &[a], &CompareOptions::default()).unwrap_err();
        assert_eq!(
            diff.to_string(),
            "1 difference(s) between expected (1 calls) and actual (1 calls):\n\
             call 1 UpdateItem (expected i=1, actual i=1) at request.AttributeUpdates.expires.Value.N:\n  \
             expected: \"<NOW+1440>\"\n  actual:   \"<NOW+1438>\""
        );
    }

    #[test]
    fn diff_names_call_path_missing_and_extra_calls() {
        let e = [
            put(1, "<NOW>", "a"),
            put(2, "<NOW>", "b"),
            put(3, "<NOW>", "c"),
        ];
        let mut changed = put(2, "<NOW>", "B");
        changed.status = 500;
        changed.request["ReturnValues"] = json!("ALL_NEW");
        let a = [put(1, "<NOW>", "a"), changed];
        let diff = compare_calls(&e, &a, &CompareOptions::default()).unwrap_err();
        let text = diff.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "4 difference(s) between expected (3 calls) and actual (2 calls):"
        );
        assert_eq!(
            lines[1],
            "call 2 UpdateItem (expected i=2, actual i=2) at request.AttributeUpdates.data.Value.S:"
        );
        assert_eq!(
            lines[4],
            "call 2 UpdateItem (expected i=2, actual i=2) at request.ReturnValues:"
        );
        assert_eq!(lines[5], "  expected: (absent)");
        assert_eq!(
            lines[7],
            "call 2 UpdateItem (expected i=2, actual i=2) at status:"
        );
        assert!(
            lines[10].starts_with(
                "call 3: missing (expected i=3): UpdateItem → 200 {\"TableName\": \"t\""
            ),
            "{text}"
        );
        let diff = compare_calls(&a[..1], &e[..2], &CompareOptions::default()).unwrap_err();
        assert!(
            matches!(
                diff.entries[..],
                [CallDiff::Extra {
                    call: 2,
                    actual_i: 2,
                    ..
                }]
            ),
            "{diff}"
        );
    }

    #[test]
    fn one_extra_call_in_the_middle_is_reported_once() {
        let e = [
            put(1, "<NOW>", "a"),
            put(2, "<NOW>", "b"),
            put(3, "<NOW>", "c"),
        ];
        let a = [
            e[0].clone(),
            rec(9, "GetItem", json!({}), 200, None),
            e[1].clone(),
            e[2].clone(),
        ];
        let diff = compare_calls(&e, &a, &CompareOptions::default()).unwrap_err();
        assert_eq!(diff.entries.len(), 1, "{diff}");
        assert!(
            diff.to_string()
                .ends_with("call 2: unexpected (actual i=9): GetItem → 200 {}"),
            "{diff}"
        );
    }

    #[test]
    fn a_different_operation_is_reported_alone() {
        let e = [put(1, "<NOW>", "a")];
        let a = [rec(1, "GetItem", json!({"Key": {}}), 200, None)];
        let diff = compare_calls(&e, &a, &CompareOptions::default()).unwrap_err();
        assert_eq!(diff.entries.len(), 1);
        assert!(
            diff.to_string()
                .contains("at op:\n  expected: \"UpdateItem\"\n  actual:   \"GetItem\""),
            "{diff}"
        );
    }

    #[test]
    fn responses_are_compared_only_on_request_and_ignore_paths_apply() {
        let e = put(1, "<NOW>", "a");
        let mut a = e.clone();
        a.response = json!({});
        assert_eq!(
            compare_calls(
                std::slice::from_ref(&e),
                std::slice::from_ref(&a),
                &CompareOptions::default()
            ),
            Ok(())
        );
        let with_response = CompareOptions {
            compare_response: true,
            ..CompareOptions::default()
        };
        let diff = compare_calls(
            std::slice::from_ref(&e),
            std::slice::from_ref(&a),
            &with_response,
        )
        .unwrap_err();
        assert!(
            diff.to_string().contains("at response.ConsumedCapacity:"),
            "{diff}"
        );
        let ignoring = CompareOptions {
            ignore: vec![
                "response.ConsumedCapacity".into(),
                "request.AttributeUpdates.*.Value".into(),
            ],
            ..with_response
        };
        a.request["AttributeUpdates"]["data"]["Value"]["S"] = json!("other");
        assert_eq!(compare_calls(&[e], &[a], &ignoring), Ok(()));
    }

    #[test]
    fn runs_of_failed_retries_collapse_to_one_or_more() {
        let e: Vec<_> = [
            lock(1, true),
            lock(2, false),
            lock(3, false),
            lock(4, false),
            lock(5, true),
        ]
        .into();
        let a: Vec<_> = [lock(1, true), lock(2, false), lock(3, true)].into();
        assert!(compare_calls(&e, &a, &CompareOptions::default()).is_err());
        let failed = CompareOptions {
            collapse: Collapse::FailedRuns {
                error_types: vec![],
            },
            ..Default::default()
        };
        assert_eq!(compare_calls(&e, &a, &failed), Ok(()));
        let only_throttles = CompareOptions {
            collapse: Collapse::FailedRuns {
                error_types: vec!["ThrottlingException".into()],
            },
            ..Default::default()
        };
        assert!(compare_calls(&e, &a, &only_throttles).is_err());
        // "one or more" is not "zero or more".
        let none_failed: Vec<_> = [lock(1, true), lock(2, true)].into();
        let diff = compare_calls(&e, &none_failed, &failed).unwrap_err();
        assert!(
            diff.to_string()
                .contains("call 2: missing (expected i=2): UpdateItem ×3 (one or more)"),
            "{diff}"
        );
        // Successful identical calls stay counted unless every run collapses.
        let two_gets = [
            rec(1, "GetItem", json!({}), 200, None),
            rec(2, "GetItem", json!({}), 200, None),
        ];
        assert!(compare_calls(&two_gets, &two_gets[..1], &failed).is_err());
        let all = CompareOptions {
            collapse: Collapse::AllRuns,
            ..Default::default()
        };
        assert_eq!(compare_calls(&two_gets, &two_gets[..1], &all), Ok(()));
    }

    #[test]
    fn now_tokens_inside_strings() {
        assert!(strings_match("i:<NOW+60>;x", "i:<NOW+61>;x", 1));
        assert!(strings_match("<NOW>", "<NOW+1>", 1));
        assert!(strings_match("<NOW-1>", "<NOW>", 1));
        assert!(!strings_match("<NOW>", "<NOW+2>", 1));
        assert!(!strings_match("i:<NOW+60>;x", "i:<NOW+60>;y", 1));
        assert!(!strings_match("a<NOW>", "b<NOW>", 1));
        assert!(strings_match("<NOWHERE", "<NOWHERE", 1));
        assert!(!strings_match("<NOW+1", "<NOW+2", 5));
    }
}
