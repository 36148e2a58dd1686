//! Floats the way PHP 8's `serialize()` writes and `unserialize()` reads them.
//!
//! Writing: `serialize()` prints a double with `smart_str_append_double(.., serialize_precision, false)`,
//! i.e. `zend_gcvt(value, -1, '.', 'E')` under the default `serialize_precision = -1`. With a negative
//! precision `zend_gcvt` asks `zend_dtoa` for mode 0 (the shortest digit string that reads back to the
//! same double) and then lays the digits out with a fixed "ndigit" of 17:
//!
//! * `decpt` is the decimal exponent of the digit string (`0.d1d2… × 10^decpt`);
//! * exponential form when `decpt < -3` or `decpt > 17`, i.e. for |v| < 1e-4 or |v| ≥ 1e17:
//!   first digit, `.`, the remaining digits or a lone `0`, `E`, a sign that is always written, the
//!   exponent without padding (`1.0E+25`, `1.5E-7`, `-1.8446744073709552E+19`);
//! * otherwise plain decimal with no trailing `.0` (`1`, `0.1`, `0.0001`, `10000000000000000`);
//! * zero keeps its sign (`0`, `-0`); non-finite values are `INF`, `-INF` and `NAN` (never `-NAN`).
//!
//! Rust's `{:e}` formatting also yields the shortest round-trip digits (Grisu with a Dragon fallback),
//! which is the same digit string `zend_dtoa` mode 0 produces: both pick the shortest string that reads
//! back exactly and, among those, the one nearest the true value. The layout rules above were read from
//! `zend_gcvt` (php-src `Zend/zend_strtod.c`, formerly `php_gcvt` in `main/snprintf.c`) and checked
//! against outputs PHP's own tests record; no php binary was available to compare against directly.
//!
//! Reading: `unserialize()` accepts `d:` followed by `NAN`, `INF`, `-INF`, or a decimal literal
//! `[+-]?(digits | digits.digits? | .digits)([eE][+-]?digits)?`, converted with `zend_strtod` (correctly
//! rounded, like Rust's `f64::from_str`).

/// The text PHP 8 writes between `d:` and `;` for `v`.
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        return "NAN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "INF" } else { "-INF" }.to_owned();
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    if v == 0.0 {
        return format!("{sign}0");
    }

    // `{:e}` gives "d[.ddd]e<exp>" with the shortest round-trip digits, e.g. "1e25", "1.2345e-5".
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci
        .split_once('e')
        .expect("LowerExp always writes an exponent");
    let exp: i32 = exp.parse().expect("LowerExp writes a decimal exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let decpt = exp + 1;

    let mut out = String::with_capacity(digits.len() + 8);
    out.push_str(sign);
    if !(-3..=17).contains(&decpt) {
        out.push_str(&digits[..1]);
        out.push('.');
        out.push_str(if digits.len() > 1 { &digits[1..] } else { "0" });
        out.push('E');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&exp.unsigned_abs().to_string());
    } else if decpt <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', decpt.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        let int_len = decpt as usize;
        if digits.len() <= int_len {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', int_len - digits.len()));
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// Parses the text between `d:` and `;` as PHP's unserialize would; `None` when PHP would reject it.
pub fn parse_float(text: &[u8]) -> Option<f64> {
    match text {
        b"NAN" => return Some(f64::NAN),
        b"INF" => return Some(f64::INFINITY),
        b"-INF" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    if !is_decimal_literal(text) {
        return None;
    }
    // Validated as ASCII above; Rust's parser is correctly rounded, like zend_strtod.
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// `[+-]?(D+ | D+ "." D* | D* "." D+)([eE][+-]?D+)?`: the `iiv | nv | nvexp` of PHP's unserializer.
/// (Rust's own float grammar is wider: it also takes `inf`, `nan`, `infinity`.)
fn is_decimal_literal(text: &[u8]) -> bool {
    fn digits(s: &[u8]) -> usize {
        s.iter().take_while(|b| b.is_ascii_digit()).count()
    }
    let mut rest = text;
    if let [b'+' | b'-', tail @ ..] = rest {
        rest = tail;
    }
    let int_digits = digits(rest);
    rest = &rest[int_digits..];
    let mut frac_digits = 0;
    if let [b'.', tail @ ..] = rest {
        frac_digits = digits(tail);
        rest = &tail[frac_digits..];
    }
    if int_digits + frac_digits == 0 {
        return false;
    }
    if let [b'e' | b'E', tail @ ..] = rest {
        let mut exp = tail;
        if let [b'+' | b'-', t @ ..] = exp {
            exp = t;
        }
        let exp_digits = digits(exp);
        if exp_digits == 0 {
            return false;
        }
        rest = &exp[exp_digits..];
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected strings: PHP's recorded outputs where PHP's tests or docs show them (0.1, 1/3, 1.6+0.1,
    /// -1.8446744073709552E+19, 1.0E+25, INF/NAN), the zend_gcvt layout rules otherwise.
    #[test]
    fn formats_like_php8_serialize() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (0.1, "0.1"),
            (0.5, "0.5"),
            (1.5, "1.5"),
            (-12.3, "-12.3"),
            (1.0 / 3.0, "0.3333333333333333"),
            (1.6 + 0.1, "1.7000000000000002"),
            (100.0, "100"),
            (0.001, "0.001"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (0.00001, "1.0E-5"),
            (0.000015, "1.5E-5"),
            (1e15, "1000000000000000"),
            (1e16, "10000000000000000"),
            (99999999999999980.0, "99999999999999980"),
            (1e17, "1.0E+17"),
            (1e25, "1.0E+25"),
            (5.2e25, "5.2E+25"),
            (-1.8446744073709552E+19, "-1.8446744073709552E+19"),
            (9223372036854775808.0, "9.223372036854776E+18"),
            (123456.789, "123456.789"),
            (1.7e300, "1.7E+300"),
            (1.7e-300, "1.7E-300"),
            (f64::MAX, "1.7976931348623157E+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014E-308"),
            (5e-324, "5.0E-324"),
            (f64::INFINITY, "INF"),
            (f64::NEG_INFINITY, "-INF"),
            (f64::NAN, "NAN"),
            (-f64::NAN, "NAN"),
        ];
        for (v, want) in cases {
            assert_eq!(format_float(*v), *want, "{v:e}");
        }
    }

    #[test]
    fn parses_php_literals_only() {
        for (text, want) in [
            ("0", 0.0),
            ("-0", -0.0),
            ("0.5", 0.5),
            ("+1", 1.0),
            ("1.", 1.0),
            (".5", 0.5),
            ("1.0E+25", 1e25),
            ("1e-5", 1e-5),
            ("-1.5E3", -1500.0),
            ("INF", f64::INFINITY),
            ("-INF", f64::NEG_INFINITY),
        ] {
            let got = parse_float(text.as_bytes()).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(got.to_bits(), want.to_bits(), "{text}");
        }
        assert!(parse_float(b"NAN").unwrap().is_nan());
        for bad in [
            "", ".", "+", "-", "e5", "1e", "1e+", "inf", "nan", "infinity", "-NAN", "+INF",
            "1.2.3", "0x10", " 1", "1 ", "1_0",
        ] {
            assert_eq!(parse_float(bad.as_bytes()), None, "{bad:?}");
        }
    }
}
