//! Matching recorded values against expectations written with placeholders.
//!
//! Expectations (scenario files, recorded traces) say `<NOW+86400>`, `<ANY>` or `CAKEPHP_<SID1>` where the real
//! value depends on when and with which generated id the case ran. Matching works on the raw recorded values
//! (and a normalised value matches the same placeholder text), so one matcher serves inline expectations,
//! recorded traces and trace-to-trace comparisons alike. `<NOW±d>` is parsed in one place,
//! [`crate::normalise::parse_now_prefix`], and so is the PHP id rule ([`crate::normalise::is_php_id`]).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::normalise::{PHP_ID_LEN, format_now, is_php_id, parse_now_prefix};

/// The time the subject's clock showed while the compared values were produced, as an inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NowWindow {
    pub earliest: i64,
    pub latest: i64,
}

impl NowWindow {
    pub fn at(now: i64) -> Self {
        NowWindow {
            earliest: now,
            latest: now,
        }
    }

    /// A value written as `now + delta` is accepted one second either side: the handler reads the clock when it
    /// builds the request, the proxy when the request arrives.
    fn accepts(self, value: i64, delta: i64) -> bool {
        let now = value - delta;
        now >= self.earliest - 1 && now <= self.latest + 1
    }
}

/// Bindings that must stay consistent across one case: `<SIDn>` → the id it stood for first.
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    pub sids: BTreeMap<String, String>,
}

/// Compares `actual` with `expected`; every difference is pushed to `diffs` as `path: expected X, got Y`.
pub fn match_json(
    expected: &Value,
    actual: &Value,
    path: &str,
    now: NowWindow,
    bindings: &mut Bindings,
    diffs: &mut Vec<String>,
) {
    match (expected, actual) {
        (Value::String(pattern), _) if pattern == "<ANY>" => {}
        (Value::String(pattern), Value::String(text)) => {
            if !match_str(pattern, text, now, bindings) {
                diffs.push(format!(
                    "{path}: expected {:?}, got {:?}",
                    abbreviate(pattern),
                    abbreviate(text)
                ));
            }
        }
        (Value::Object(want), Value::Object(got)) => {
            for (key, want_value) in want {
                // `key?`: the key may be absent; when present it must match (for what depends on timing, such
                // as whether a request in the same second rewrites the session data).
                let (name, optional) = match key.strip_suffix('?') {
                    Some(name) => (name, true),
                    None => (key.as_str(), false),
                };
                let child = join(path, name);
                match got.get(name) {
                    Some(got_value) => {
                        match_json(want_value, got_value, &child, now, bindings, diffs)
                    }
                    None if optional => {}
                    None => diffs.push(format!(
                        "{child}: missing (expected {})",
                        abbreviate(&want_value.to_string())
                    )),
                }
            }
            for (key, got_value) in got {
                if !want.contains_key(key) && !want.contains_key(&format!("{key}?")) {
                    diffs.push(format!(
                        "{}: unexpected {}",
                        join(path, key),
                        abbreviate(&got_value.to_string())
                    ));
                }
            }
        }
        (Value::Array(want), Value::Array(got)) => {
            if want.len() != got.len() {
                diffs.push(format!(
                    "{path}: expected {} elements, got {}: {}",
                    want.len(),
                    got.len(),
                    Value::Array(got.clone())
                ));
                return;
            }
            for (index, (w, g)) in want.iter().zip(got).enumerate() {
                match_json(w, g, &format!("{path}[{index}]"), now, bindings, diffs);
            }
        }
        (want, got) if want == got => {}
        (want, got) => diffs.push(format!(
            "{path}: expected {}, got {}",
            abbreviate(&want.to_string()),
            abbreviate(&got.to_string())
        )),
    }
}

/// Long values (a 400 KB session) are shown by their start and length, so a diff stays readable.
pub fn abbreviate(text: &str) -> String {
    const KEEP: usize = 120;
    if text.len() <= KEEP * 2 {
        return text.to_owned();
    }
    let cut = (0..=KEEP)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}… ({} bytes in all)", &text[..cut], text.len())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Whether `text` matches `pattern`, where the pattern may hold `<NOW>`, `<NOW+d>`, `<NOW-d>`, `<ANY>` and
/// `<SIDn>` anywhere (inside serialized session data too).
pub fn match_str(pattern: &str, text: &str, now: NowWindow, bindings: &mut Bindings) -> bool {
    if !pattern.contains('<') || pattern == text {
        return pattern == text;
    }
    let tokens = tokenize(pattern);
    let mut trial = bindings.clone();
    if match_tokens(&tokens, text, now, &mut trial) {
        *bindings = trial;
        true
    } else {
        false
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token<'a> {
    Literal(&'a str),
    Now(i64),
    Any,
    Sid(&'a str),
}

fn tokenize(pattern: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut rest = pattern;
    while !rest.is_empty() {
        let Some(start) = rest.find('<') else {
            tokens.push(Token::Literal(rest));
            break;
        };
        let Some((token, len)) = placeholder(&rest[start..]) else {
            tokens.push(Token::Literal(&rest[..=start]));
            rest = &rest[start + 1..];
            continue;
        };
        if start > 0 {
            tokens.push(Token::Literal(&rest[..start]));
        }
        tokens.push(token);
        rest = &rest[start + len..];
    }
    tokens
}

/// The placeholder at the start of `text` (which starts with `<`) and its length, if it is one.
fn placeholder(text: &str) -> Option<(Token<'_>, usize)> {
    if let Some((delta, len)) = parse_now_prefix(text) {
        return Some((Token::Now(delta), len));
    }
    if text.starts_with("<ANY>") {
        return Some((Token::Any, 5));
    }
    let inner = text.strip_prefix("<SID")?;
    let digits = inner.bytes().take_while(u8::is_ascii_digit).count();
    (digits > 0 && inner.as_bytes().get(digits) == Some(&b'>'))
        .then(|| (Token::Sid(&text[1..4 + digits]), 5 + digits))
}

fn match_tokens(tokens: &[Token<'_>], text: &str, now: NowWindow, bindings: &mut Bindings) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return text.is_empty();
    };
    match first {
        Token::Literal(literal) => text
            .strip_prefix(literal)
            .is_some_and(|tail| match_tokens(rest, tail, now, bindings)),
        Token::Now(delta) => {
            // A normalised trace carries the placeholder itself.
            if let Some(tail) = text.strip_prefix(format_now(*delta).as_str()) {
                return match_tokens(rest, tail, now, bindings);
            }
            let digits = text
                .char_indices()
                .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '-'))
                .count();
            text[..digits]
                .parse::<i64>()
                .is_ok_and(|value| now.accepts(value, *delta))
                && match_tokens(rest, &text[digits..], now, bindings)
        }
        Token::Any => (0..=text.len())
            .filter(|&cut| text.is_char_boundary(cut))
            .any(|cut| {
                let mut trial = bindings.clone();
                let ok = match_tokens(rest, &text[cut..], now, &mut trial);
                if ok {
                    *bindings = trial;
                }
                ok
            }),
        Token::Sid(name) => {
            if let Some(tail) = text
                .strip_prefix('<')
                .and_then(|t| t.strip_prefix(*name))
                .and_then(|t| t.strip_prefix('>'))
            {
                return match_tokens(rest, tail, now, bindings);
            }
            if let Some(bound) = bindings.sids.get(*name).cloned() {
                return text
                    .strip_prefix(bound.as_str())
                    .is_some_and(|tail| match_tokens(rest, tail, now, bindings));
            }
            // An unbound SIDn is a PHP session id not already bound to another n.
            if !is_php_id(text) || bindings.sids.values().any(|v| v == &text[..PHP_ID_LEN]) {
                return false;
            }
            bindings
                .sids
                .insert((*name).to_owned(), text[..PHP_ID_LEN].to_owned());
            match_tokens(rest, &text[PHP_ID_LEN..], now, bindings)
        }
    }
}

/// Replaces every `<NOW±d>` in `text` by the number `now + d` (seeded items, fault rules, step arguments).
pub fn resolve_now(text: &str, now: i64) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<NOW") {
        out.push_str(&rest[..start]);
        match parse_now_prefix(&rest[start..]) {
            Some((delta, len)) => {
                out.push_str(&(now + delta).to_string());
                rest = &rest[start + len..];
            }
            None => {
                out.push_str("<NOW");
                rest = &rest[start + 4..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Replaces every bound `<SIDn>` in `text` by its id (seeding items under a session an earlier step created).
pub fn substitute_sids(text: &str, bindings: &Bindings) -> String {
    let mut out = text.to_owned();
    for (name, id) in &bindings.sids {
        out = out.replace(&format!("<{name}>"), id);
    }
    out
}

/// `*` matches any run of characters (warning texts carry backend-specific messages).
pub fn match_glob(pattern: &str, text: &str) -> bool {
    let Some((head, tail)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(rest) = text.strip_prefix(head) else {
        return false;
    };
    (0..=rest.len())
        .filter(|&cut| rest.is_char_boundary(cut))
        .any(|cut| match_glob(tail, &rest[cut..]))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(expected: Value, actual: Value, now: i64) -> Vec<String> {
        let mut diffs = Vec::new();
        match_json(
            &expected,
            &actual,
            "",
            NowWindow::at(now),
            &mut Bindings::default(),
            &mut diffs,
        );
        diffs
    }

    #[test]
    fn now_placeholders_accept_one_second_either_side() {
        let want = json!({"expires": {"N": "<NOW+1440>"}});
        assert!(
            check(
                want.clone(),
                json!({"expires": {"N": "1001440"}}),
                1_000_000
            )
            .is_empty()
        );
        assert!(
            check(
                want.clone(),
                json!({"expires": {"N": "1001441"}}),
                1_000_000
            )
            .is_empty()
        );
        let diffs = check(want, json!({"expires": {"N": "1001442"}}), 1_000_000);
        assert_eq!(
            diffs,
            vec![r#"expires.N: expected "<NOW+1440>", got "1001442""#]
        );
        assert!(check(json!("<NOW-3600>"), json!("996400"), 1_000_000).is_empty());
    }

    #[test]
    fn placeholders_work_inside_session_data() {
        let want = json!(r#"Config|a:1:{s:4:"time";i:<NOW+28800>;}x|s:<ANY>"#);
        let got = json!(r#"Config|a:1:{s:4:"time";i:1028800;}x|s:3:"abc";"#);
        assert!(check(want, got, 1_000_000).is_empty());
    }

    #[test]
    fn sid_placeholders_bind_once_and_stay_distinct() {
        let mut bindings = Bindings::default();
        let now = NowWindow::at(0);
        let a = "CAKEPHP_0ps8utkssjigqpc5shh3l3csvo";
        let b = "CAKEPHP_1np9p5eu0iov9rgu842ecdmji4";
        assert!(match_str("CAKEPHP_<SID1>", a, now, &mut bindings));
        assert!(match_str("CAKEPHP_<SID1>", a, now, &mut bindings));
        assert!(!match_str("CAKEPHP_<SID1>", b, now, &mut bindings));
        assert!(!match_str("CAKEPHP_<SID2>", a, now, &mut bindings));
        assert!(match_str("CAKEPHP_<SID2>", b, now, &mut bindings));
        assert!(!match_str(
            "CAKEPHP_<SID3>",
            "CAKEPHP_short",
            now,
            &mut bindings
        ));
    }

    #[test]
    fn optional_keys_may_be_absent_but_must_match_when_present() {
        let want = json!({"a": 1, "data?": {"S": "x"}});
        assert!(check(want.clone(), json!({"a": 1}), 0).is_empty());
        assert!(check(want.clone(), json!({"a": 1, "data": {"S": "x"}}), 0).is_empty());
        assert_eq!(
            check(want, json!({"a": 1, "data": {"S": "y"}}), 0),
            vec![r#"data.S: expected "x", got "y""#]
        );
    }

    #[test]
    fn maps_report_missing_and_unexpected_keys() {
        let diffs = check(json!({"a": 1, "b": 2}), json!({"a": 1, "c": 3}), 0);
        assert_eq!(diffs, vec!["b: missing (expected 2)", "c: unexpected 3"]);
    }

    #[test]
    fn long_values_are_abbreviated_in_diffs() {
        let long = "a".repeat(300_000);
        let diffs = check(json!("b"), json!(long), 0);
        assert!(diffs[0].len() < 400, "{}", diffs[0].len());
        assert!(
            diffs[0].ends_with("(300000 bytes in all)\""),
            "{}",
            diffs[0]
        );
    }

    #[test]
    fn now_placeholders_resolve_to_numbers() {
        assert_eq!(
            resolve_now("a<NOW>b<NOW+10>c<NOW-5>d<NOW", 100),
            "a100b110c95d<NOW"
        );
        assert_eq!(resolve_now("<NOWX>", 1), "<NOWX>");
    }

    #[test]
    fn a_normalised_value_matches_its_own_placeholder_text() {
        let mut bindings = Bindings::default();
        assert!(match_str(
            "CAKEPHP_<SID1>|<NOW+1440>",
            "CAKEPHP_<SID1>|<NOW+1440>",
            NowWindow::at(0),
            &mut bindings
        ));
    }

    #[test]
    fn globs_match_warning_texts() {
        assert!(match_glob(
            "Error writing session CAKEPHP_x: *",
            "Error writing session CAKEPHP_x: ValidationException: too big"
        ));
        assert!(!match_glob(
            "Error deleting session *",
            "Error writing session x"
        ));
    }
}
