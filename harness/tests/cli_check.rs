//! `conform --check`: a scenario folder is linted at load, before any backend starts, with file:line:column
//! and the allowed values for every misspelt fault action, cookie expectation, capability and repeat count.

use std::process::Command;

fn check(dir: &std::path::Path) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_dynamo-harness"))
        .args(["conform", "--check"])
        .arg(dir)
        .output()
        .expect("the harness runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn misspellings_are_found_with_their_place_and_the_allowed_values() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let (code, out) = check(&dir);
    assert_eq!(code, Some(1), "{out}");
    let file = dir.join("misspelt.yaml");
    let at = |place: &str| format!("{}:{place}: ", file.display());
    for (place, text) in [
        (
            "9:43",
            "case Z1: faults[0]: unknown variant `throtle`, expected one of `throttle`",
        ),
        (
            "14:18",
            "case Z2: `ttl_sweep_as_awss` names no backend capability; they are: ttl_api,",
        ),
        (
            "21:26",
            "case Z3: step 1: expect: unknown variant `nwe`, expected one of `new`, `same`",
        ),
        (
            "27:34",
            r#"case Z4: `repeat: 1*`: the allowed values are "1+" and "0+""#,
        ),
    ] {
        assert!(
            out.contains(&format!("{}{text}", at(place))),
            "{place}: {out}"
        );
    }
    assert!(out.contains("0 cases load, 4 problem(s)"), "{out}");
}

#[test]
fn the_built_in_catalogue_checks_clean() {
    let output = Command::new(env!("CARGO_BIN_EXE_dynamo-harness"))
        .args(["conform", "--check"])
        .output()
        .expect("the harness runs");
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{out}");
    assert!(out.contains(" 0 problem(s)"), "{out}");
}
