//! The recorded SDK traces as test data for the record format, the normaliser and the expectation engine.
//!
//! The fixtures are already normalised, so the normaliser is tested by undoing it: real epoch numbers in place
//! of `<NOW+d>` (with up to 2 s of the jitter the rounding rule absorbs), random 26-character PHP ids in place
//! of `<SIDn>`, raw timing, numbering and connection labels, and a `t_unix` per call. Normalising that must give
//! the fixture back byte for byte.

use std::collections::HashMap;
use std::path::PathBuf;

use dynamo_wire::expect::{
    Bindings, TRACE_TABLE, expected_exactly, expected_from_records, match_calls, observed_calls,
};
use dynamo_wire::normalise::parse_now_prefix;
use dynamo_wire::{NormaliseOptions, WireRecord, format_trace, normalise, read_trace};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sdk-traces")
}

fn fixtures() -> Vec<(String, PathBuf)> {
    let mut files: Vec<_> = std::fs::read_dir(fixture_dir())
        .expect("fixtures/sdk-traces exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    files.sort();
    assert!(
        files.len() >= 20,
        "expected the recorded traces, found {}",
        files.len()
    );
    files
}

#[test]
fn every_fixture_round_trips_byte_for_byte() {
    for (name, path) in fixtures() {
        let original = std::fs::read_to_string(&path).unwrap();
        let records = read_trace(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(records.len(), original.lines().count(), "{name}");
        assert_eq!(format_trace(&records), original, "{name}");
    }
}

#[test]
fn write_trace_writes_what_read_trace_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let records = read_trace(fixture_dir().join("e_expired_item.jsonl")).unwrap();
    let path = dir.join("copy.jsonl");
    dynamo_wire::write_trace(&path, &records).unwrap();
    assert_eq!(read_trace(&path).unwrap(), records);
    let err = read_trace(dir.join("missing.jsonl"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.jsonl"), "{err}");
    std::fs::write(dir.join("bad.jsonl"), "{\"i\": 1}\n\n{oops\n").unwrap();
    let err = read_trace(dir.join("bad.jsonl")).unwrap_err().to_string();
    assert!(err.contains("line 1"), "{err}");
}

#[test]
fn normalising_denormalised_fixtures_gives_them_back() {
    let mut rng = StdRng::seed_from_u64(20_260_601);
    for (name, path) in fixtures() {
        let fixture = read_trace(&path).unwrap();
        let raw = denormalise(&fixture, &mut rng);
        let raw_text = format_trace(&raw);
        assert!(
            !raw_text.contains("<SID") && !raw_text.contains("<NOW"),
            "{name}: not denormalised"
        );
        let normalised =
            normalise(&raw, &NormaliseOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            format_trace(&normalised),
            std::fs::read_to_string(&path).unwrap(),
            "{name}"
        );
        // And normalising is idempotent.
        assert_eq!(
            normalise(&normalised, &NormaliseOptions::default()).unwrap(),
            normalised,
            "{name}"
        );
    }
}

/// Undoes the README's replacement rules with fresh random values.
fn denormalise(records: &[WireRecord], rng: &mut StdRng) -> Vec<WireRecord> {
    let t0 = 1_795_962_067.0 + rng.random_range(0.0..1.0);
    let mut sids: HashMap<String, String> = HashMap::new();
    records
        .iter()
        .map(|r| {
            let t_unix = t0 + r.dt_ms / 1000.0;
            let mut raw = r.clone();
            raw.t_unix = Some(t_unix);
            raw.dt_ms = r.dt_ms + 73_004.125;
            raw.i = r.i + 40;
            raw.conn = format!("C{}", r.conn[1..].parse::<u32>().unwrap() + 3);
            let now = t_unix.floor() as i64;
            raw.step = fill_placeholders(&raw.step, now, &mut sids, rng);
            let mut fill = |s: &str| fill_placeholders(s, now, &mut sids, rng);
            map_strings(&mut raw.request, &mut fill);
            map_strings(&mut raw.response, &mut fill);
            raw
        })
        .collect()
}

fn map_strings(v: &mut Value, f: &mut impl FnMut(&str) -> String) {
    match v {
        Value::String(s) => *s = f(s),
        Value::Array(items) => items.iter_mut().for_each(|item| map_strings(item, f)),
        Value::Object(map) => map.values_mut().for_each(|item| map_strings(item, f)),
        _ => {}
    }
}

fn fill_placeholders(
    s: &str,
    now: i64,
    sids: &mut HashMap<String, String>,
    rng: &mut StdRng,
) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find('>').map_or(0, |e| e + 1);
        let token = &rest[..end];
        if let Some(n) = token.strip_prefix("<SID").and_then(|t| t.strip_suffix('>')) {
            let id = sids.entry(n.to_owned()).or_insert_with(|| php_id(rng));
            out.push_str(id);
        } else if let Some((d, _)) = parse_now_prefix(token) {
            // Every offset in the fixtures is a multiple of 60, so ±2 s must normalise back to it.
            let value = now + d + rng.random_range(-2..=2);
            out.push_str(&value.to_string());
        } else {
            out.push('<');
            rest = &rest[1..];
            continue;
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn php_id(rng: &mut StdRng) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuv0123456789";
    (0..26)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[test]
fn lock_retries_collapse_whatever_their_count() {
    let trace = read_trace(fixture_dir().join("f_concurrent_same_session.jsonl")).unwrap();
    let failed =
        |r: &WireRecord| r.error_type.as_deref() == Some("ConditionalCheckFailedException");
    assert_eq!(trace.iter().filter(|r| failed(r)).count(), 33);
    // Another run of the same scenario where B found the lock taken only three times.
    let mut seen = 0;
    let shorter: Vec<WireRecord> = trace
        .iter()
        .filter(|r| {
            seen += usize::from(failed(r));
            !failed(r) || seen <= 3
        })
        .cloned()
        .collect();
    // Both sides are normalised traces: a placeholder matches its own text.
    let shorter = observed_calls(&shorter);
    let loosened = expected_from_records(&trace, TRACE_TABLE);
    assert_eq!(
        match_calls(&loosened, &shorter, &mut Bindings::default()),
        Ok(())
    );
    let diff = match_calls(
        &expected_exactly(&trace),
        &shorter,
        &mut Bindings::default(),
    )
    .unwrap_err();
    assert!(
        diff.contains("call 5 (UpdateItem) differs from expected call 5:"),
        "{diff}"
    );
    assert!(diff.contains("status: expected 400, got 200"), "{diff}");
}

#[test]
fn locking_and_standard_traces_differ_where_the_spec_says() {
    let standard = read_trace(fixture_dir().join("c_change.jsonl")).unwrap();
    let locking = read_trace(fixture_dir().join("f_c_change.jsonl")).unwrap();
    let text = match_calls(
        &expected_exactly(&standard),
        &observed_calls(&locking),
        &mut Bindings::default(),
    )
    .unwrap_err();
    // The read differs in operation: the locking handler reads by taking the lock with an UpdateItem.
    assert!(
        text.contains("call 1 (UpdateItem) differs from expected call 1:\n  op: expected GetItem, got UpdateItem"),
        "{text}"
    );
}
