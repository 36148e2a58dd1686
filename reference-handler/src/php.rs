//! The few pieces of PHP value semantics the SDK's session handler relies on implicitly.
//!
//! The PHP handler stores configuration "as given" and compares values with PHP's loose rules. To
//! reproduce its observable behaviour, the Rust handler needs exactly these: truthiness, `var_dump`-style
//! type descriptions (used in SDK validation messages), numeric strings, `(int)` casts, the loose `<=`
//! used for the expiry check, and `rand(min, max)`.

use aws_sdk_dynamodb::types::AttributeValue;
use rand::Rng;
use serde_json::Value;

/// PHP truthiness of a JSON value (as a PHP array/scalar decoded from that JSON would have it).
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !(s.is_empty() || s == "0"),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// `Aws\describe_type()`: what the SDK's validator prints after "Found".
pub fn describe_type(v: &Value) -> String {
    match v {
        Value::Null => "NULL".to_owned(),
        Value::Bool(b) => format!("bool({b})"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                format!("int({i})")
            } else if let Some(u) = n.as_u64() {
                // Beyond PHP_INT_MAX PHP would hold a float.
                format!("float({u})")
            } else {
                format!("float({})", php_float_repr(n.as_f64().unwrap_or(0.0)))
            }
        }
        Value::String(s) => format!("string({}) \"{}\"", s.len(), s),
        Value::Array(a) => format!("array({})", a.len()),
        Value::Object(o) => format!("array({})", o.len()),
    }
}

fn php_float_repr(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// A number as PHP reads it from a numeric string.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PhpNumber {
    /// An integer that fits PHP's int.
    Int(i64),
    /// Anything else numeric.
    Float(f64),
}

/// Parses a PHP 8 numeric string: optional surrounding whitespace, optional sign, decimal digits with an
/// optional fraction and exponent. Returns `None` for anything else (PHP then compares as strings).
pub fn numeric_string(bytes: &[u8]) -> Option<PhpNumber> {
    let (num, rest) = numeric_prefix(bytes)?;
    if rest.iter().all(|b| is_php_space(*b)) {
        Some(num)
    } else {
        None
    }
}

/// PHP's `(int)` cast of a string: the leading numeric part, truncated; 0 when there is none.
pub fn int_cast(s: &str) -> i64 {
    match numeric_prefix(s.as_bytes()) {
        Some((PhpNumber::Int(i), _)) => i,
        // PHP 8 saturates out-of-range float-to-int string casts on 64-bit builds.
        Some((PhpNumber::Float(f), _)) if f.is_finite() => {
            f.trunc().clamp(i64::MIN as f64, i64::MAX as f64) as i64
        }
        Some((PhpNumber::Float(_), _)) | None => 0,
    }
}

fn is_php_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn numeric_prefix(bytes: &[u8]) -> Option<(PhpNumber, &[u8])> {
    let mut i = 0;
    while i < bytes.len() && is_php_space(bytes[i]) {
        i += 1;
    }
    let start = i;
    if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut is_float = false;
    let mut frac_digits = 0;
    if i < bytes.len() && bytes[i] == b'.' {
        let mut j = i + 1;
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
        frac_digits = j - i - 1;
        if int_digits > 0 || frac_digits > 0 {
            is_float = true;
            i = j;
        }
    }
    if int_digits == 0 && frac_digits == 0 {
        return None;
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        let mut j = i + 1;
        if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
            j += 1;
        }
        let exp_start = j;
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
        if j > exp_start {
            is_float = true;
            i = j;
        }
    }
    let text = std::str::from_utf8(&bytes[start..i]).ok()?;
    let num = if is_float {
        PhpNumber::Float(text.parse::<f64>().ok()?)
    } else {
        match text.parse::<i64>() {
            Ok(v) => PhpNumber::Int(v),
            // Integer overflow: PHP falls back to a float.
            Err(_) => PhpNumber::Float(text.parse::<f64>().ok()?),
        }
    };
    Some((num, &bytes[i..]))
}

/// An attribute after the PHP connection's flattening (`current($value)`): the scalar inside the type
/// wrapper. S, N and B become byte strings, BOOL a bool, NULL `true`, and list, map and set types arrays.
#[derive(Debug, Clone, PartialEq)]
pub enum Flat {
    /// S, N or B.
    Bytes(Vec<u8>),
    /// BOOL, or NULL (whose wrapper holds `true`).
    Bool(bool),
    /// L, M, SS, NS or BS.
    Array,
}

impl Flat {
    /// Flattens one attribute value.
    pub fn from_attribute(v: &AttributeValue) -> Self {
        match v {
            AttributeValue::S(s) | AttributeValue::N(s) => Flat::Bytes(s.as_bytes().to_vec()),
            AttributeValue::B(b) => Flat::Bytes(b.as_ref().to_vec()),
            AttributeValue::Bool(b) => Flat::Bool(*b),
            AttributeValue::Null(_) => Flat::Bool(true),
            _ => Flat::Array,
        }
    }

    /// The value PHP's session engine would get back from `read` for this data attribute.
    /// Byte strings are returned as they are; `true` reads as "1" and `false` as "" (PHP's string cast).
    /// Arrays are not modelled and read as "".
    pub fn into_session_data(self) -> Vec<u8> {
        match self {
            Flat::Bytes(b) => b,
            Flat::Bool(true) => b"1".to_vec(),
            Flat::Bool(false) | Flat::Array => Vec::new(),
        }
    }
}

/// PHP 8's `$value <= $now` for the expiry check in `SessionHandler::read`.
///
/// A numeric string (an N value, or an S value holding digits, C74) compares numerically; a
/// non-numeric string compares byte-wise against the decimal text of `now`; booleans compare as
/// booleans; arrays are never `<=` an int.
pub fn loose_le_int(value: &Flat, now: i64) -> bool {
    match value {
        Flat::Bytes(bytes) => match numeric_string(bytes) {
            Some(PhpNumber::Int(v)) => v <= now,
            Some(PhpNumber::Float(f)) => f <= now as f64,
            None => bytes.as_slice() <= now.to_string().as_bytes(),
        },
        Flat::Bool(b) => !*b || now != 0,
        Flat::Array => false,
    }
}

/// PHP's `rand($min, $max)`, which (unlike `mt_rand`) accepts `$min > $max` and then draws from
/// `[$max, $min]`.
pub fn rand_between(a: u64, b: u64) -> u64 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    rand::rng().random_range(lo..=hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn truthiness_follows_php() {
        for v in [
            json!(null),
            json!(false),
            json!(0),
            json!(0.0),
            json!(""),
            json!("0"),
            json!([]),
            json!({}),
        ] {
            assert!(!truthy(&v), "{v} should be falsy");
        }
        for v in [
            json!(true),
            json!(1),
            json!(-1),
            json!("false"),
            json!("00"),
            json!(" "),
            json!([0]),
            json!({"a": 0}),
        ] {
            assert!(truthy(&v), "{v} should be truthy");
        }
    }

    #[test]
    fn describe_type_matches_var_dump() {
        assert_eq!(describe_type(&json!(0)), "int(0)");
        assert_eq!(describe_type(&json!("0")), "string(1) \"0\"");
        assert_eq!(describe_type(&json!(null)), "NULL");
        assert_eq!(describe_type(&json!(true)), "bool(true)");
        assert_eq!(describe_type(&json!(1.5)), "float(1.5)");
        assert_eq!(describe_type(&json!([1, 2])), "array(2)");
    }

    #[test]
    fn numeric_strings_follow_php8() {
        assert_eq!(numeric_string(b"123"), Some(PhpNumber::Int(123)));
        assert_eq!(numeric_string(b" -5 "), Some(PhpNumber::Int(-5)));
        assert_eq!(numeric_string(b"1.5"), Some(PhpNumber::Float(1.5)));
        assert_eq!(numeric_string(b".5"), Some(PhpNumber::Float(0.5)));
        assert_eq!(numeric_string(b"1e3"), Some(PhpNumber::Float(1000.0)));
        assert_eq!(numeric_string(b"12abc"), None);
        assert_eq!(numeric_string(b""), None);
        assert_eq!(numeric_string(b"."), None);
        assert_eq!(numeric_string(b"0x1A"), None);
        assert_eq!(
            numeric_string(b"99999999999999999999"),
            Some(PhpNumber::Float(1e20))
        );
    }

    #[test]
    fn int_cast_takes_the_leading_number() {
        assert_eq!(int_cast("1440"), 1440);
        assert_eq!(int_cast(" 86400 "), 86400);
        assert_eq!(int_cast("12abc"), 12);
        assert_eq!(int_cast("abc"), 0);
        assert_eq!(int_cast("1e3"), 1000);
        assert_eq!(int_cast("-7.9"), -7);
        assert_eq!(int_cast(""), 0);
    }

    #[test]
    fn c13_c74_expiry_compare_is_numeric_and_inclusive() {
        let now = 1_700_000_000;
        assert!(loose_le_int(&Flat::Bytes(b"1700000000".to_vec()), now));
        assert!(loose_le_int(&Flat::Bytes(b"1699999990".to_vec()), now));
        assert!(!loose_le_int(&Flat::Bytes(b"1700000001".to_vec()), now));
        // C75: milliseconds are far in the future.
        assert!(!loose_le_int(&Flat::Bytes(b"1700000000000".to_vec()), now));
        // Non-numeric strings compare as strings: "abc" > "1700000000".
        assert!(!loose_le_int(&Flat::Bytes(b"abc".to_vec()), now));
        assert!(loose_le_int(&Flat::Bytes(b"0abc".to_vec()), now));
        assert!(loose_le_int(&Flat::Bool(true), now));
        assert!(!loose_le_int(&Flat::Array, now));
    }

    #[test]
    fn rand_between_accepts_reversed_bounds() {
        for _ in 0..100 {
            let v = rand_between(50, 10);
            assert!((10..=50).contains(&v));
        }
        assert_eq!(rand_between(7, 7), 7);
    }

    #[test]
    fn flattening_matches_current() {
        assert_eq!(
            Flat::from_attribute(&AttributeValue::N("5".into())),
            Flat::Bytes(b"5".to_vec())
        );
        assert_eq!(
            Flat::from_attribute(&AttributeValue::Null(true)),
            Flat::Bool(true)
        );
        assert_eq!(
            Flat::from_attribute(&AttributeValue::L(vec![])),
            Flat::Array
        );
        let b = AttributeValue::B(aws_smithy_types::Blob::new(vec![0x80, 0xff]));
        assert_eq!(
            Flat::from_attribute(&b).into_session_data(),
            vec![0x80, 0xff]
        );
    }
}
