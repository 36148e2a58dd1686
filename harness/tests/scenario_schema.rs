//! The shipped JSON Schema of the scenario format (scenarios/scenario.schema.json): it is what the types
//! generate, every file of the built-in catalogue is valid against it, and it refuses what the loader refuses
//! where a schema can say so (a misspelt key, an unknown fault action or step operation).

use std::path::{Path, PathBuf};

use dynamo_harness::schema::{REGENERATE, SHIPPED_PATH, scenario_schema_json};
use serde_json::Value;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness sits in the workspace")
        .to_owned()
}

fn shipped() -> Value {
    let path = workspace_root().join(SHIPPED_PATH);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; make it with `{REGENERATE}`", path.display()));
    serde_json::from_str(&text).expect("the shipped schema is JSON")
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&shipped()).expect("the shipped schema is a valid JSON Schema")
}

/// A scenario file as the loader sees it: YAML with anchors and `<<` merge keys applied, as JSON.
fn document(text: &str) -> Value {
    let mut yaml: serde_norway::Value = serde_norway::from_str(text).expect("YAML");
    yaml.apply_merge().expect("merge keys");
    serde_json::to_value(&yaml).expect("YAML as JSON")
}

/// Every validation error of `text`, one per line, with where in the document it is.
fn errors(validator: &jsonschema::Validator, text: &str) -> Vec<String> {
    validator
        .iter_errors(&document(text))
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn the_shipped_schema_is_what_the_types_generate() {
    let path = workspace_root().join(SHIPPED_PATH);
    let generated = scenario_schema_json();
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{} differs from what the scenario types generate; regenerate it with\n  {REGENERATE}",
        path.display()
    );
}

#[test]
fn every_file_of_the_builtin_catalogue_is_valid() {
    let validator = validator();
    let dir = workspace_root().join("scenarios/conformance");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the catalogue folder")
        .map(|entry| entry.expect("a folder entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    assert!(files.len() > 5, "the catalogue has its files: {files:?}");
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a scenario file");
        for error in errors(&validator, &text) {
            problems.push(format!("{}: {error}", file.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_entry_point_test_folder_is_valid() {
    let validator = validator();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/catalogue/entry.yaml");
    let text = std::fs::read_to_string(&file).expect("the entry point's folder");
    assert_eq!(errors(&validator, &text), Vec::<String>::new());
}

const GOOD: &str = r#"
group: Z
defaults:
  config: {table_name: "{table}"}
  open: {save_path: "", name: CAKEPHP}
cases:
  - id: Z1
    given:
      items: [{id: {S: CAKEPHP_abc}, expires: {N: "<NOW+100>"}, data: {S: x}}]
      faults: [{match: {op: GetItem}, action: {throttle: ThrottlingException}, times: 1}]
      clock: {frozen: true}
      requires: [ttl_api]
    steps:
      - read: {id: abc}
        expect: {value: x, warnings: []}
      - write: {id: abc, data_b64: "gP8A"}
        within_ms: 5000
      - garbage_collect: {}
    expect:
      calls:
        - {op: GetItem, repeat: "1+"}
      table: [{id: {S: CAKEPHP_abc}, data?: {S: "<ANY>"}}]
"#;

#[test]
fn a_well_formed_file_is_valid() {
    assert_eq!(errors(&validator(), GOOD), Vec::<String>::new());
}

/// `GOOD` with one substring replaced; the replacement must be there to be replaced.
fn good_but(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

#[test]
fn a_misspelt_case_key_is_invalid() {
    let errors = errors(&validator(), &good_but("    given:", "    gvien:"));
    assert!(
        errors.iter().any(|e| e.contains("gvien")),
        "a misspelt case key must fail validation: {errors:?}"
    );
}

#[test]
fn a_misspelt_fault_action_is_invalid() {
    let errors = errors(&validator(), &good_but("{throttle:", "{throtle:"));
    assert!(
        errors.iter().any(|e| e.contains("/cases/0/given/faults/0")),
        "a misspelt fault action must fail validation: {errors:?}"
    );
}

#[test]
fn the_misspelt_values_conform_check_reports_are_invalid_too() {
    // The same file `conform --check` is tested with: every case holds one misspelling.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/misspelt.yaml"),
    )
    .expect("the misspelt file");
    let errors = errors(&validator(), &text);
    for case in 0..4 {
        let at = format!("/cases/{case}/");
        assert!(
            errors.iter().any(|e| e.starts_with(&at)),
            "case {case} of misspelt.yaml must fail validation: {errors:?}"
        );
    }
}

#[test]
fn an_unknown_operation_or_step_key_is_invalid() {
    let validator = validator();
    for (from, to) in [
        ("- read: {id: abc}", "- reed: {id: abc}"),
        ("within_ms: 5000", "within: 5000"),
        ("within_ms: 5000", "within_ms: 0"),
        ("{frozen: true}", "{frozen: false}"),
        ("[ttl_api]", "[ttl_apis]"),
        ("repeat: \"1+\"", "repeat: \"1*\""),
        ("data_b64: \"gP8A\"", "data_b64: \"gP8A\", data: x"),
        ("{N: \"<NOW+100>\"}", "{N: \"<NOW+x>\"}"),
    ] {
        let errors = errors(&validator, &good_but(from, to));
        assert!(
            !errors.is_empty(),
            "`{to}` in place of `{from}` must fail validation"
        );
    }
}
