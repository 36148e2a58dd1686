//! Property and fixture tests for the whole codec (one test binary on purpose: link time).

use php_session_codec::{
    Key, PhpValue, decode_session, encode_session, format_float, parse_float, serialize,
    unserialize,
};
use proptest::prelude::*;
use std::path::PathBuf;

// ---------------------------------------------------------------------------------------------------------
// Strategies

fn key() -> BoxedStrategy<Key> {
    prop_oneof![
        any::<i64>().prop_map(Key::Int),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Key::String),
    ]
    .boxed()
}

fn scalar() -> impl Strategy<Value = PhpValue> {
    prop_oneof![
        Just(PhpValue::Null),
        any::<bool>().prop_map(PhpValue::Bool),
        any::<i64>().prop_map(PhpValue::Int),
        // Every f64 bit pattern: subnormals, ±0, ±INF, NaNs.
        any::<u64>().prop_map(|bits| PhpValue::Float(f64::from_bits(bits))),
        proptest::num::f64::NORMAL.prop_map(PhpValue::Float),
        // Binary strings, including '"', ';', '|', '}' and non-UTF-8 bytes.
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(PhpValue::String),
        "[a-zA-Z0-9 |;:\"{}]{0,12}".prop_map(|s| PhpValue::String(s.into_bytes())),
    ]
}

fn opaque() -> impl Strategy<Value = PhpValue> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..12);
    prop_oneof![
        (bytes(), bytes()).prop_map(|(class, payload)| PhpValue::Serializable { class, payload }),
        bytes().prop_map(PhpValue::Enum),
        any::<u64>().prop_map(PhpValue::ObjectRef),
        any::<u64>().prop_map(PhpValue::Reference),
    ]
}

fn php_value() -> impl Strategy<Value = PhpValue> {
    prop_oneof![4 => scalar(), 1 => opaque()].prop_recursive(6, 96, 8, |inner| {
        let entries = proptest::collection::vec((key(), inner), 0..8);
        prop_oneof![
            entries.clone().prop_map(PhpValue::Array),
            (proptest::collection::vec(any::<u8>(), 0..10), entries)
                .prop_map(|(class, properties)| PhpValue::Object { class, properties }),
        ]
    })
}

fn session_vars() -> impl Strategy<Value = Vec<(Vec<u8>, PhpValue)>> {
    let name = proptest::collection::vec(any::<u8>().prop_filter("no '|'", |b| *b != b'|'), 0..10);
    proptest::collection::vec((name, php_value()), 0..6)
}

/// Structural equality where floats compare by bits (so -0 != 0) and all NaNs are equal (PHP writes every
/// NaN as `NAN`).
fn same(a: &PhpValue, b: &PhpValue) -> bool {
    use PhpValue::*;
    let same_entries = |x: &[(Key, PhpValue)], y: &[(Key, PhpValue)]| {
        x.len() == y.len()
            && x.iter()
                .zip(y)
                .all(|((k1, v1), (k2, v2))| k1 == k2 && same(v1, v2))
    };
    match (a, b) {
        (Float(x), Float(y)) => (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits(),
        (Array(x), Array(y)) => same_entries(x, y),
        (
            Object {
                class: c1,
                properties: p1,
            },
            Object {
                class: c2,
                properties: p2,
            },
        ) => c1 == c2 && same_entries(p1, p2),
        _ => a == b,
    }
}

// ---------------------------------------------------------------------------------------------------------
// Properties

proptest! {
    // A fixed seed keeps CI deterministic; set PROPTEST_CASES higher locally to explore further.
    #![proptest_config(ProptestConfig {
        cases: 2048,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5e55_10c0_dec0_0001),
        ..ProptestConfig::default()
    })]

    #[test]
    fn value_round_trips(v in php_value()) {
        let bytes = serialize(&v);
        let back = unserialize(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(same(&v, &back), "{v:?} -> {:?} -> {back:?}", String::from_utf8_lossy(&bytes));
        prop_assert_eq!(serialize(&back), bytes);
    }

    #[test]
    fn session_round_trips(vars in session_vars()) {
        let bytes = encode_session(&vars).unwrap();
        let back = decode_session(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back.len(), vars.len());
        for ((n1, v1), (n2, v2)) in vars.iter().zip(&back) {
            prop_assert_eq!(n1, n2);
            prop_assert!(same(v1, v2));
        }
        prop_assert_eq!(encode_session(&back).unwrap(), bytes);
    }

    #[test]
    fn floats_are_shortest_round_trip(bits in any::<u64>()) {
        let v = f64::from_bits(bits);
        let text = format_float(v);
        let back = parse_float(text.as_bytes()).expect("PHP reads what PHP writes");
        prop_assert!((v.is_nan() && back.is_nan()) || v.to_bits() == back.to_bits(), "{v:e} -> {text}");
        if v.is_finite() {
            // Layout: exponential exactly outside [1e-4, 1e17), as zend_gcvt does with 17 "digits".
            let magnitude = v.abs();
            let exponential = magnitude != 0.0 && !(1e-4..1e17).contains(&magnitude);
            prop_assert_eq!(text.contains('E'), exponential, "{}", text);
            // Shortest digits: never more than 17 significant ones.
            let mantissa = text.split('E').next().unwrap_or_default();
            let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
            let significant = digits.trim_start_matches('0').trim_end_matches('0');
            prop_assert!(significant.len() <= 17, "{}", text);
        }
    }

    /// The decoders never panic, whatever the bytes.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = unserialize(&bytes);
        let _ = decode_session(&bytes);
    }

    /// Nor on near-valid input: valid encodings with one byte changed, inserted or cut off, which reach far
    /// deeper into the grammar than random bytes do.
    #[test]
    fn mutated_encodings_never_panic(
        vars in session_vars(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        how in 0..3u8,
    ) {
        let mut bytes = encode_session(&vars).unwrap();
        if bytes.is_empty() {
            bytes.push(byte);
        }
        let i = at.index(bytes.len());
        match how {
            0 => bytes[i] = byte,
            1 => bytes.insert(i, byte),
            _ => bytes.truncate(i),
        }
        if let Ok(decoded) = decode_session(&bytes) {
            // Whatever decodes must re-encode and decode again to the same thing.
            let again = encode_session(&decoded).unwrap();
            let decoded_again = decode_session(&again).unwrap();
            prop_assert_eq!(encode_session(&decoded_again).unwrap(), again);
        }
        let _ = unserialize(&bytes);
    }
}

// ---------------------------------------------------------------------------------------------------------
// The real SDK traces

fn traces_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sdk-traces")
}

/// Every `S` string found under an attribute named `data` anywhere in `json`.
fn data_payloads(json: &serde_json::Value, under_data: bool, out: &mut Vec<String>) {
    match json {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (under_data, k.as_str(), v) {
                    (true, "S", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => data_payloads(v, under_data || k == "data", out),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                data_payloads(v, under_data, out);
            }
        }
        _ => {}
    }
}

/// The trace README replaces `Config.time` (and `expires`) with `<NOW+d>`; put a number back so that the
/// payload is PHP data again. The same substitution is applied to the expected bytes, so the round trip
/// still checks every other byte exactly.
fn substitute_now(s: &str) -> String {
    const NOW: i64 = 1_795_962_037;
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("<NOW") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('>') else {
            break;
        };
        let inner = &rest[start + 4..start + len];
        let offset: i64 = if inner.is_empty() {
            0
        } else {
            inner.parse().unwrap_or(0)
        };
        out.push_str(&(NOW + offset).to_string());
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn every_trace_payload_round_trips_byte_identically() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(traces_dir())
        .expect("fixtures/sdk-traces")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("jsonl" | "log")
            )
        })
        .collect();
    files.sort();

    let mut payloads = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for line in text.lines() {
            // .jsonl lines are JSON; .log lines may carry a JSON object after some text.
            let Some(brace) = line.find('{') else {
                continue;
            };
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(&line[brace..]) {
                data_payloads(&json, false, &mut payloads);
            }
        }
    }
    payloads.sort();
    payloads.dedup();
    assert!(
        payloads.len() >= 20,
        "found only {} payloads",
        payloads.len()
    );

    let mut variables = 0;
    for raw in &payloads {
        let php = substitute_now(raw);
        let vars = decode_session(php.as_bytes()).unwrap_or_else(|e| panic!("{e}: {php}"));
        variables += vars.len();
        assert_eq!(encode_session(&vars).unwrap(), php.as_bytes(), "{php}");
    }
    // Printed for the report (`cargo test -- --nocapture`).
    println!(
        "{} distinct trace payloads ({} session variables) from {} files round-trip byte-identically",
        payloads.len(),
        variables,
        files.len()
    );
}

#[test]
fn cakephp_payload_reads_as_expected() {
    let php = substitute_now(
        r#"Config|a:3:{s:9:"userAgent";s:32:"cb1ba00d4ac383820f116b1c7bf41827";s:4:"time";i:<NOW+28800>;s:9:"countdown";i:10;}Auth|a:1:{s:4:"User";a:2:{s:2:"id";i:42;s:8:"username";s:5:"alice";}}"#,
    );
    let vars = decode_session(php.as_bytes()).unwrap();
    let config = &vars[0].1;
    assert_eq!(
        config.get(&"time".into()),
        Some(&PhpValue::Int(1_795_962_037 + 28800))
    );
    assert_eq!(config.get(&"countdown".into()), Some(&PhpValue::Int(10)));
    let user = vars[1].1.get(&"User".into()).unwrap();
    assert_eq!(user.get(&"username".into()), Some(&PhpValue::str("alice")));
}
