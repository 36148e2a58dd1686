//! Matching the DynamoDB calls a subject made against the expected sequence: one expected entry stands for one
//! call or a run of them ([`Quantity`]), and a backtracking search finds a grouping that fits.

use serde::Deserialize;
use serde_json::Value;

use super::pattern::{Bindings, NowWindow, match_json};
use crate::record::WireRecord;

/// How many actual calls one expected entry stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    Exactly(usize),
    /// This many or more identical calls: retries whose number depends on timing (`repeat: "1+"`, `"0+"`).
    AtLeast(usize),
}

impl Quantity {
    fn bounds(self) -> (usize, usize) {
        match self {
            Quantity::Exactly(n) => (n, n),
            Quantity::AtLeast(n) => (n, usize::MAX),
        }
    }
}

/// One expected DynamoDB call, as a scenario file writes it (`repeat: "1+"` or `count: N` for runs).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "ExpectedCallText")]
pub struct ExpectedCall {
    pub op: String,
    pub request: Option<Value>,
    pub status: Option<u16>,
    pub error_type: Option<Value>,
    pub response: Option<Value>,
    pub quantity: Quantity,
}

impl ExpectedCall {
    /// One call of `op` with this request, nothing else checked.
    pub fn request(op: &str, request: Value) -> Self {
        ExpectedCall {
            op: op.to_owned(),
            request: Some(request),
            status: None,
            error_type: None,
            response: None,
            quantity: Quantity::Exactly(1),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedCallText {
    op: String,
    #[serde(default)]
    request: Option<Value>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    error_type: Option<Value>,
    #[serde(default)]
    response: Option<Value>,
    #[serde(default)]
    repeat: Option<String>,
    #[serde(default)]
    count: Option<usize>,
}

impl TryFrom<ExpectedCallText> for ExpectedCall {
    type Error = String;

    fn try_from(text: ExpectedCallText) -> Result<Self, Self::Error> {
        let quantity = match (text.count, text.repeat.as_deref()) {
            (Some(_), Some(_)) => return Err("give `count` or `repeat`, not both".to_owned()),
            (Some(n), None) => Quantity::Exactly(n),
            (None, Some("1+")) => Quantity::AtLeast(1),
            (None, Some("0+")) => Quantity::AtLeast(0),
            (None, Some(other)) => {
                return Err(format!(
                    "`repeat: {other}`: the allowed values are \"1+\" and \"0+\""
                ));
            }
            (None, None) => Quantity::Exactly(1),
        };
        Ok(ExpectedCall {
            op: text.op,
            request: text.request,
            status: text.status,
            error_type: text.error_type,
            response: text.response,
            quantity,
        })
    }
}

/// One recorded call, with the subject's clock at the time it was made.
#[derive(Debug, Clone)]
pub struct ObservedCall {
    pub op: String,
    pub request: Value,
    pub status: u16,
    pub error_type: Option<String>,
    pub response: Value,
    pub now: NowWindow,
}

impl ObservedCall {
    /// A recorded call, with the window the subject's clock lay in when it made it.
    pub fn from_record(record: &WireRecord, now: NowWindow) -> Self {
        ObservedCall {
            op: record.op.clone(),
            request: record.request.clone(),
            status: record.status,
            error_type: record.error_type.clone(),
            response: record.response.clone(),
            now,
        }
    }

    /// `GetItem`, or `UpdateItem!ConditionalCheckFailedException` for a failed call (the traces' SUMMARY style).
    pub fn label(&self) -> String {
        match &self.error_type {
            Some(error) => format!("{}!{error}", self.op),
            None if self.status >= 400 => format!("{}!{}", self.op, self.status),
            None => self.op.clone(),
        }
    }
}

/// Recorded calls as observed ones, each with the second its record arrived in (the subject's system clock).
pub fn observed_calls(records: &[WireRecord]) -> Vec<ObservedCall> {
    records
        .iter()
        .map(|record| {
            let arrived = record.t_unix.unwrap_or_default().floor() as i64;
            ObservedCall::from_record(record, NowWindow::at(arrived))
        })
        .collect()
}

/// Differences between one expected entry and one call (empty: they match).
pub fn call_diffs(want: &ExpectedCall, got: &ObservedCall, bindings: &mut Bindings) -> Vec<String> {
    let mut diffs = Vec::new();
    if want.op != got.op {
        diffs.push(format!("op: expected {}, got {}", want.op, got.op));
        return diffs;
    }
    if let Some(request) = &want.request {
        match_json(
            request,
            &got.request,
            "request",
            got.now,
            bindings,
            &mut diffs,
        );
    }
    if let Some(status) = want.status
        && status != got.status
    {
        diffs.push(format!("status: expected {status}, got {}", got.status));
    }
    if let Some(error_type) = &want.error_type {
        let got_error = got
            .error_type
            .as_ref()
            .map_or(Value::Null, |e| Value::String(e.clone()));
        if error_type != &got_error {
            diffs.push(format!(
                "error_type: expected {error_type}, got {got_error}"
            ));
        }
    }
    if let Some(response) = &want.response {
        match_json(
            response,
            &got.response,
            "response",
            got.now,
            bindings,
            &mut diffs,
        );
    }
    diffs
}

/// Matches the whole sequence; on failure returns a readable explanation naming the first call that differs.
pub fn match_calls(
    expected: &[ExpectedCall],
    actual: &[ObservedCall],
    bindings: &mut Bindings,
) -> Result<(), String> {
    let quantities: Vec<(usize, usize)> = expected.iter().map(|e| e.quantity.bounds()).collect();
    if let Some(found) = search(expected, &quantities, actual, 0, 0, bindings) {
        *bindings = found;
        return Ok(());
    }
    Err(explain(expected, &quantities, actual, bindings))
}

/// Backtracking search: repeated entries take as many calls as they can, then give some back.
fn search(
    expected: &[ExpectedCall],
    quantities: &[(usize, usize)],
    actual: &[ObservedCall],
    ei: usize,
    ai: usize,
    bindings: &Bindings,
) -> Option<Bindings> {
    if ei == expected.len() {
        return (ai == actual.len()).then(|| bindings.clone());
    }
    let (min, max) = quantities[ei];
    let mut trial = bindings.clone();
    let mut taken = 0;
    while taken < max
        && ai + taken < actual.len()
        && call_diffs(&expected[ei], &actual[ai + taken], &mut trial).is_empty()
    {
        taken += 1;
    }
    if taken < min {
        return None;
    }
    for count in (min..=taken).rev() {
        // Re-bind from the start for this count so that ids bound by calls given back are released.
        let mut attempt = bindings.clone();
        let consistent = actual[ai..ai + count]
            .iter()
            .all(|call| call_diffs(&expected[ei], call, &mut attempt).is_empty());
        if consistent
            && let Some(found) = search(expected, quantities, actual, ei + 1, ai + count, &attempt)
        {
            return Some(found);
        }
    }
    None
}

/// A greedy walk to the first point where expectation and reality part, for the report.
fn explain(
    expected: &[ExpectedCall],
    quantities: &[(usize, usize)],
    actual: &[ObservedCall],
    bindings: &Bindings,
) -> String {
    let mut bindings = bindings.clone();
    let mut ai = 0;
    let mut text = String::new();
    for (ei, want) in expected.iter().enumerate() {
        let (min, max) = quantities[ei];
        let mut taken = 0;
        let mut first_diff = Vec::new();
        while taken < max && ai + taken < actual.len() {
            let diffs = call_diffs(want, &actual[ai + taken], &mut bindings);
            if !diffs.is_empty() {
                first_diff = diffs;
                break;
            }
            taken += 1;
        }
        if taken < min {
            if ai + taken >= actual.len() {
                text = format!(
                    "expected call {} ({}) but the subject made only {} call(s)",
                    ei + 1,
                    want.op,
                    actual.len()
                );
            } else {
                text = format!(
                    "call {} ({}) differs from expected call {}:\n  {}",
                    ai + taken + 1,
                    actual[ai + taken].label(),
                    ei + 1,
                    first_diff.join("\n  ")
                );
            }
            break;
        }
        ai += taken;
    }
    if text.is_empty() {
        text = if ai < actual.len() {
            format!(
                "{} unexpected call(s) after the expected ones, starting with call {} ({}): {}",
                actual.len() - ai,
                ai + 1,
                actual[ai].label(),
                actual[ai].request
            )
        } else {
            "the calls match only with another grouping of repeated calls".to_owned()
        };
    }
    let made: Vec<String> = actual.iter().map(ObservedCall::label).collect();
    format!("{text}\n  calls made: [{}]", made.join(", "))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn expected(op: &str, request: Value, repeat: Option<&str>) -> ExpectedCall {
        ExpectedCall {
            quantity: match repeat {
                Some(_) => Quantity::AtLeast(1),
                None => Quantity::Exactly(1),
            },
            ..ExpectedCall::request(op, request)
        }
    }

    fn observed(op: &str, request: Value, error: Option<&str>) -> ObservedCall {
        ObservedCall {
            op: op.to_owned(),
            request,
            status: if error.is_some() { 400 } else { 200 },
            error_type: error.map(str::to_owned),
            response: Value::Null,
            now: NowWindow::at(1000),
        }
    }

    #[test]
    fn repeated_lock_attempts_match_one_or_more() {
        let lock = json!({"Key": "k"});
        let mut failed = expected("UpdateItem", lock.clone(), Some("1+"));
        failed.error_type = Some(json!("ConditionalCheckFailedException"));
        let want = vec![failed, expected("UpdateItem", lock.clone(), None)];
        let got = vec![
            observed(
                "UpdateItem",
                lock.clone(),
                Some("ConditionalCheckFailedException"),
            ),
            observed(
                "UpdateItem",
                lock.clone(),
                Some("ConditionalCheckFailedException"),
            ),
            observed("UpdateItem", lock.clone(), None),
        ];
        assert!(match_calls(&want, &got, &mut Bindings::default()).is_ok());
    }

    #[test]
    fn greedy_repeats_give_calls_back() {
        let want = vec![
            expected("GetItem", json!({}), Some("1+")),
            expected("GetItem", json!({}), None),
        ];
        let got = vec![
            observed("GetItem", json!({}), None),
            observed("GetItem", json!({}), None),
        ];
        assert!(match_calls(&want, &got, &mut Bindings::default()).is_ok());
    }

    #[test]
    fn a_difference_names_the_call_and_the_field() {
        let want = vec![
            expected("GetItem", json!({"ConsistentRead": true}), None),
            expected("UpdateItem", json!({"Key": "a"}), None),
        ];
        let got = vec![
            observed("GetItem", json!({"ConsistentRead": true}), None),
            observed("UpdateItem", json!({"Key": "b"}), None),
        ];
        let error = match_calls(&want, &got, &mut Bindings::default()).unwrap_err();
        assert!(
            error.contains("call 2 (UpdateItem) differs from expected call 2"),
            "{error}"
        );
        assert!(
            error.contains(r#"request.Key: expected "a", got "b""#),
            "{error}"
        );
    }

    #[test]
    fn a_misspelt_repeat_is_refused_with_the_allowed_values() {
        let error =
            serde_json::from_value::<ExpectedCall>(json!({"op": "GetItem", "repeat": "1*"}))
                .unwrap_err()
                .to_string();
        assert!(
            error.contains(r#"the allowed values are "1+" and "0+""#),
            "{error}"
        );
    }

    #[test]
    fn missing_and_extra_calls_are_reported() {
        let want = vec![expected("GetItem", json!({}), None)];
        let error = match_calls(&want, &[], &mut Bindings::default()).unwrap_err();
        assert!(error.contains("made only 0 call(s)"), "{error}");
        let got = vec![
            observed("GetItem", json!({}), None),
            observed("DeleteItem", json!({}), None),
        ];
        let error = match_calls(&want, &got, &mut Bindings::default()).unwrap_err();
        assert!(error.contains("1 unexpected call(s)"), "{error}");
    }
}
