//! The wire record: one DynamoDB call as the trace files in `fixtures/sdk-traces` store it, and JSONL I/O.
//!
//! The fixtures were written by a Python recorder (`json.dumps` defaults), so traces are written the same way:
//! `", "` and `": "` separators, non-ASCII escaped as `\uXXXX`, floats in Python's `repr` form. That is what lets a
//! fixture be read and written back byte for byte, and lets traces recorded here be diffed against the fixtures
//! with plain text tools.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::ser::{CharEscape, Formatter};

use crate::error::WireError;

/// One DynamoDB call. The first eleven fields are exactly the trace format (same names, same order); the
/// optional ones after them are skipped when absent, so a record without them serialises like a fixture line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WireRecord {
    /// Order of arrival at the proxy (1-based within a normalised trace).
    pub i: u64,
    /// Milliseconds since the first call (normalised) or since the proxy started (raw), one decimal.
    pub dt_ms: f64,
    /// Proxy → upstream round trip in milliseconds, two decimals; 0.0 when no upstream call was made.
    pub latency_ms: f64,
    /// Client TCP connection, `C1`, `C2`, … in order of acceptance.
    pub conn: String,
    /// The scenario step (HTTP request, handler operation, script) that caused the call.
    pub step: String,
    /// The operation: `X-Amz-Target` after the dot.
    pub op: String,
    /// The full `X-Amz-Target` header.
    pub target: String,
    /// The request body as JSON; `null` when it was empty or not JSON (see `request_body`).
    pub request: Value,
    /// HTTP status; 0 when the client got no response at all (an injected connection reset).
    pub status: u16,
    /// The `__type` of an error response after its `#`, else `null`.
    pub error_type: Option<String>,
    /// The response body as JSON; `null` when it was empty or not JSON (see `response_body`).
    pub response: Value,
    /// Set when the proxy injected a fault into this call: the action, e.g. `throttle ThrottlingException`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injected: Option<String>,
    /// Why `request` is `null` although a request was sent (empty or non-JSON body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_body: Option<BodyNote>,
    /// Why `response` is `null` although a response was received (empty or non-JSON body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<BodyNote>,
    /// Wall-clock time (Unix seconds) at which the proxy received the call. Raw records only: normalisation
    /// uses it for the `<NOW+d>` replacements and then drops it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t_unix: Option<f64>,
    /// The number of the case step that was running (`WireProxy::set_numbered_step`); never written to a trace.
    #[serde(skip)]
    pub step_number: Option<usize>,
}

/// A body that could not be recorded as JSON. The PHP SDK sends an empty body when `json_encode` fails on
/// non-UTF-8 data (spec §2), so "empty" is a behaviour worth seeing in a trace, not just a parse failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyNote {
    /// Zero bytes.
    Empty,
    /// Bytes that do not parse as JSON.
    NotJson,
}

impl WireRecord {
    /// The record's JSON line in the fixtures' format, without the newline.
    pub fn to_json_line(&self) -> String {
        let mut out = Vec::with_capacity(512);
        let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonJsonFormatter);
        self.serialize(&mut ser)
            .expect("a WireRecord always serialises: string keys, finite floats");
        String::from_utf8(out).expect("the formatter writes ASCII only")
    }
}

/// Any JSON value written like Python's `json.dumps` would (used for records and for diff output).
pub fn to_python_json(value: &Value) -> String {
    let mut out = Vec::with_capacity(64);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonJsonFormatter);
    value
        .serialize(&mut ser)
        .expect("a serde_json::Value always serialises");
    String::from_utf8(out).expect("the formatter writes ASCII only")
}

/// Reads a JSONL trace: one record per non-empty line.
pub fn read_trace(path: impl AsRef<Path>) -> Result<Vec<WireRecord>, WireError> {
    let path = path.as_ref();
    let text = fs::read_to_string(path).map_err(|source| WireError::TraceIo {
        path: path.to_owned(),
        source,
    })?;
    parse_trace(&text).map_err(|(line, source)| WireError::TraceParse {
        path: path.to_owned(),
        line,
        source,
    })
}

/// Parses JSONL text; on failure returns the 1-based line number with the error.
pub fn parse_trace(text: &str) -> Result<Vec<WireRecord>, (usize, serde_json::Error)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| serde_json::from_str(line).map_err(|e| (n + 1, e)))
        .collect()
}

/// Writes records as JSONL, one line each, every line ending in `\n` (an empty trace is an empty file).
pub fn write_trace(path: impl AsRef<Path>, records: &[WireRecord]) -> Result<(), WireError> {
    let path = path.as_ref();
    let io_err = |source| WireError::TraceIo {
        path: path.to_owned(),
        source,
    };
    let mut file = io::BufWriter::new(fs::File::create(path).map_err(io_err)?);
    file.write_all(format_trace(records).as_bytes())
        .map_err(io_err)?;
    file.flush().map_err(io_err)
}

/// The JSONL text `write_trace` writes.
pub fn format_trace(records: &[WireRecord]) -> String {
    let mut text = String::new();
    for record in records {
        text.push_str(&record.to_json_line());
        text.push('\n');
    }
    text
}

/// `serde_json` formatter reproducing Python's `json.dumps(obj)` with default arguments.
#[derive(Debug, Clone, Copy, Default)]
pub struct PythonJsonFormatter;

impl Formatter for PythonJsonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(python_float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        w.write_all(python_float_repr(f64::from(value)).as_bytes())
    }

    /// `ensure_ascii=True`: every non-ASCII character becomes `\uXXXX` (a surrogate pair above the BMP).
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (pos, ch) in fragment.char_indices() {
            if ch.is_ascii() {
                continue;
            }
            w.write_all(&fragment.as_bytes()[start..pos])?;
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                write!(w, "\\u{unit:04x}")?;
            }
            start = pos + ch.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        // Same escapes as serde_json's default; spelled out because overriding the fragment writer above must
        // not change them, and Python agrees on all of them (lowercase hex for control characters).
        let s: &[u8] = match escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"\\/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => return write!(w, "\\u{byte:04x}"),
        };
        w.write_all(s)
    }
}

/// Python's `repr(float)`: the shortest round-tripping digits, positional notation when the decimal exponent is
/// in [-4, 16), else `d.ddde±XX` with at least two exponent digits; integral values keep a trailing `.0`.
pub fn python_float_repr(value: f64) -> String {
    if !value.is_finite() {
        // JSON has no representation; Python would write NaN/Infinity, which is not valid JSON either.
        return "null".to_owned();
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .to_owned();
    }
    // Rust's `{:e}` gives the shortest round-tripping digits, e.g. "-1.2345e3".
    let sci = format!("{value:e}");
    let (mantissa, exp) = sci
        .split_once('e')
        .expect("LowerExp always writes an exponent");
    let exp: i32 = exp.parse().expect("LowerExp exponent is an integer");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let n = digits.len() as i32;
    // Python: with `decpt` = exp + 1, positional notation when -4 < decpt <= 16.
    let decpt = exp + 1;
    let body = if decpt > -4 && decpt <= 16 {
        if decpt <= 0 {
            format!("0.{}{}", "0".repeat((-decpt) as usize), digits)
        } else if decpt >= n {
            format!("{}{}.0", digits, "0".repeat((decpt - n) as usize))
        } else {
            format!(
                "{}.{}",
                &digits[..decpt as usize],
                &digits[decpt as usize..]
            )
        }
    } else {
        let frac = &digits[1..];
        let mant = if frac.is_empty() {
            digits[..1].to_owned()
        } else {
            format!("{}.{}", &digits[..1], frac)
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{esign}{:02}", exp.abs())
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn float_repr_matches_python() {
        let cases = [
            (0.0, "0.0"),
            (3.0, "3.0"),
            (9.6, "9.6"),
            (5.09, "5.09"),
            (308.0, "308.0"),
            (1234.5, "1234.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.2345e17, "1.2345e+17"),
            (-2.5, "-2.5"),
            (1795962067.25, "1795962067.25"),
        ];
        for (value, want) in cases {
            assert_eq!(python_float_repr(value), want, "repr({value})");
        }
    }

    #[test]
    fn json_is_written_like_python_json_dumps() {
        let v = json!({"b": [1, 2.0, "é😀\u{1f}"], "a": null, "c": {"x": true}});
        assert_eq!(
            to_python_json(&v),
            r#"{"b": [1, 2.0, "\u00e9\ud83d\ude00\u001f"], "a": null, "c": {"x": true}}"#
        );
    }

    #[test]
    fn optional_fields_are_omitted_and_t_unix_round_trips() {
        let line = r#"{"i": 1, "dt_ms": 0.0, "latency_ms": 5.09, "conn": "C1", "step": "s", "op": "GetItem", "target": "DynamoDB_20120810.GetItem", "request": {"TableName": "t"}, "status": 200, "error_type": null, "response": {}}"#;
        let mut record: WireRecord = serde_json::from_str(line).unwrap();
        assert_eq!(record.to_json_line(), line);
        record.t_unix = Some(1795962067.25);
        record.request_body = Some(BodyNote::Empty);
        let raw = record.to_json_line();
        assert!(
            raw.ends_with(r#""request_body": "empty", "t_unix": 1795962067.25}"#),
            "{raw}"
        );
        assert_eq!(serde_json::from_str::<WireRecord>(&raw).unwrap(), record);
    }
}
