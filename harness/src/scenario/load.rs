//! Reading scenario files: YAML (with anchors and `<<` merge keys) → defaults merged → typed cases.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use super::model::{Case, HttpRequest, OpenArgs, Step, StepExpect, StepOp, WaitFor};
use crate::subject::Level;

/// What can go wrong reading the catalogue; every variant names the file (and the case, where known).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not valid YAML: {source}")]
    Yaml {
        path: PathBuf,
        source: serde_norway::Error,
    },
    #[error("{path}: {message}")]
    Shape { path: PathBuf, message: String },
    #[error("{path}:{line}:{column}: case {case}: {message}")]
    Case {
        path: PathBuf,
        /// Where the offending text is (the case's `id:` line when it cannot be pinned down), 1-based.
        line: usize,
        column: usize,
        case: String,
        message: String,
    },
    #[error("case id {id} appears twice: in {first} and {second}")]
    DuplicateId {
        id: String,
        first: PathBuf,
        second: PathBuf,
    },
}

/// The catalogue shipped with the harness (`scenarios/conformance` at the top of the workspace).
pub fn builtin_dir() -> PathBuf {
    crate::assets::catalogue_dir()
}

/// The `*.yaml`/`*.yml` files of `dir`, in name order; an empty folder is an error that says so.
fn scenario_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|source| LoadError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            )
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(LoadError::Shape {
            path: dir.to_owned(),
            message: "the folder is empty: it holds no scenario files (*.yaml, *.yml)".to_owned(),
        });
    }
    Ok(files)
}

/// Loads every `*.yaml`/`*.yml` file of each folder, in name order, and checks that ids are unique.
pub fn load_dirs(dirs: &[PathBuf]) -> Result<Vec<Case>, LoadError> {
    let mut cases: Vec<Case> = Vec::new();
    for dir in dirs {
        let files = scenario_files(dir)?;
        for file in files {
            for case in load_file(&file)? {
                if let Some(first) = cases.iter().find(|c| c.id == case.id) {
                    return Err(LoadError::DuplicateId {
                        id: case.id,
                        first: first.source.clone(),
                        second: file,
                    });
                }
                cases.push(case);
            }
        }
    }
    Ok(cases)
}

/// Where in `text` the problem `message` describes lies, for case `id`: the first `quoted` token of the message
/// (a misspelt value, an unknown key) found after the case's `id:` line, else that line. 1-based.
fn locate(text: &str, id: &str, message: &str) -> (usize, usize) {
    let case_start = text
        .match_indices(id)
        .map(|(at, _)| at)
        .find(|&at| text[..at].trim_end().ends_with("id:"))
        .unwrap_or(0);
    let next_case = text[case_start + 1..]
        .find("\n  - id:")
        .map_or(text.len(), |at| case_start + 1 + at);
    let quoted = message
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|token| token.rsplit_once(": ").map_or(token, |(_, value)| value));
    let at = quoted
        .filter(|token| !token.is_empty())
        .find_map(|token| {
            text[case_start..next_case]
                .find(token)
                .map(|at| case_start + at)
        })
        .unwrap_or(case_start);
    let line = text[..at].matches('\n').count() + 1;
    let column = at - text[..at].rfind('\n').map_or(0, |newline| newline + 1) + 1;
    (line, column)
}

/// Checks every scenario file of each folder without running anything: how many cases loaded, and every
/// problem found (each case's first, every file's, duplicate ids), in file order.
pub fn check_dirs(dirs: &[PathBuf]) -> (usize, Vec<LoadError>) {
    let mut loaded: Vec<Case> = Vec::new();
    let mut problems = Vec::new();
    for dir in dirs {
        let files = match scenario_files(dir) {
            Ok(files) => files,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        for file in files {
            let (cases, errors) = load_file_collecting(&file);
            problems.extend(errors);
            for case in cases {
                if let Some(first) = loaded.iter().find(|c| c.id == case.id) {
                    problems.push(LoadError::DuplicateId {
                        id: case.id.clone(),
                        first: first.source.clone(),
                        second: file.clone(),
                    });
                }
                loaded.push(case);
            }
        }
    }
    (loaded.len(), problems)
}

/// Loads one scenario file.
pub fn load_file(path: &Path) -> Result<Vec<Case>, LoadError> {
    let (cases, mut errors) = load_file_collecting(path);
    match errors.is_empty() {
        true => Ok(cases),
        false => Err(errors.remove(0)),
    }
}

/// The cases of one file that load, and the problems of those that do not (or of the file itself).
fn load_file_collecting(path: &Path) -> (Vec<Case>, Vec<LoadError>) {
    match load_file_or_cases(path) {
        Ok(outcomes) => {
            let mut cases = Vec::new();
            let mut errors = Vec::new();
            for outcome in outcomes {
                match outcome {
                    Ok(case) => cases.push(case),
                    Err(error) => errors.push(error),
                }
            }
            (cases, errors)
        }
        Err(error) => (Vec::new(), vec![error]),
    }
}

fn load_file_or_cases(path: &Path) -> Result<Vec<Result<Case, LoadError>>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut yaml: serde_norway::Value =
        serde_norway::from_str(&text).map_err(|source| LoadError::Yaml {
            path: path.to_owned(),
            source,
        })?;
    yaml.apply_merge().map_err(|source| LoadError::Yaml {
        path: path.to_owned(),
        source,
    })?;
    let document: Value = serde_json::to_value(&yaml).map_err(|e| LoadError::Shape {
        path: path.to_owned(),
        message: format!("cannot be read as data: {e}"),
    })?;
    let shape = |message: &str| LoadError::Shape {
        path: path.to_owned(),
        message: message.to_owned(),
    };
    let Value::Object(mut document) = document else {
        return Err(shape("the file must be a map with `group` and `cases`"));
    };
    let group = match document.remove("group") {
        Some(Value::String(group)) => group,
        _ => return Err(shape("`group:` (a string) is missing")),
    };
    let defaults = match document.remove("defaults") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(defaults)) => defaults_as_case(defaults),
        Some(_) => return Err(shape("`defaults:` must be a map")),
    };
    let Some(Value::Array(raw_cases)) = document.remove("cases") else {
        return Err(shape("`cases:` (a list) is missing"));
    };
    Ok(raw_cases
        .into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let id = raw
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("#{}", index + 1));
            parse_case(raw, &defaults, &group, path).map_err(|message| {
                let (line, column) = locate(&text, &id, &message);
                LoadError::Case {
                    path: path.to_owned(),
                    line,
                    column,
                    case: id,
                    message,
                }
            })
        })
        .collect::<Vec<_>>())
}

/// The `given` keys a file's `defaults` may also write flat (moved under `given` by the loader).
pub(crate) const FLAT_GIVEN_KEYS: &[&str] = &[
    "config",
    "gc_maxlifetime",
    "client",
    "clock",
    "requires",
    "subjects",
    "faults",
    "items",
];

/// File defaults may be written flat (`config`, `gc_maxlifetime`, ...) or in case shape (`given: {...}`).
fn defaults_as_case(defaults: Map<String, Value>) -> Map<String, Value> {
    let mut case = Map::new();
    let mut given = Map::new();
    for (key, value) in defaults {
        if FLAT_GIVEN_KEYS.contains(&key.as_str()) {
            given.insert(key, value);
        } else if key == "given" {
            if let Value::Object(map) = value {
                given.extend(map);
            }
        } else {
            case.insert(key, value);
        }
    }
    case.insert("given".to_owned(), Value::Object(given));
    case
}

/// Maps merge key by key (recursively); anything else in `over` replaces `under`.
fn deep_merge(under: &Value, over: Value) -> Value {
    match (under, over) {
        (Value::Object(under), Value::Object(over)) => {
            let mut merged = under.clone();
            for (key, value) in over {
                let combined = match merged.get(&key) {
                    Some(existing) => deep_merge(existing, value),
                    None => value,
                };
                merged.insert(key, combined);
            }
            Value::Object(merged)
        }
        (_, over) => over,
    }
}

fn parse_case(
    raw: Value,
    defaults: &Map<String, Value>,
    group: &str,
    path: &Path,
) -> Result<Case, String> {
    let merged = deep_merge(&Value::Object(defaults.clone()), raw);
    let Value::Object(mut map) = merged else {
        return Err("a case must be a map".to_owned());
    };
    let raw_steps = match map.remove("steps") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(steps)) => steps,
        Some(_) => return Err("`steps:` must be a list".to_owned()),
    };
    // `null` in a merged config removes what the defaults set (a PHP array without that key).
    if let Some(Value::Object(given)) = map.get_mut("given")
        && let Some(Value::Object(config)) = given.get_mut("config")
    {
        config.retain(|_, value| !value.is_null());
    }
    let mut case: Case = serde_json::from_value(Value::Object(map)).map_err(|e| e.to_string())?;
    case.group = group.to_owned();
    case.source = path.to_owned();
    case.steps = raw_steps
        .into_iter()
        .enumerate()
        .map(|(index, step)| parse_step(step).map_err(|e| format!("step {}: {e}", index + 1)))
        .collect::<Result<_, _>>()?;
    for request in case.http_requests() {
        if let Some(app) = &request.app
            && app != "partner"
        {
            return Err(format!(
                "`app: {app}`: the only other app a step can name is `partner`"
            ));
        }
    }
    if case.level == Level::Handler
        && let Some(index) = case
            .steps
            .iter()
            .position(|step| matches!(step.op, StepOp::Parallel(_)))
    {
        return Err(format!(
            "step {}: `parallel` groups overlap HTTP requests; this is a handler-level case",
            index + 1
        ));
    }
    for (index, rule) in case.given.faults.iter().enumerate() {
        // Checked with the placeholders a run fills in; the runner parses them again with the case's values.
        let rule = fill_for_check(rule);
        serde_json::from_value::<dynamo_wire::FaultRule>(rule)
            .map_err(|e| format!("faults[{index}]: {e}"))?;
    }
    if case.expect.calls.is_some() && case.expect.calls_trace.is_some() {
        return Err("give `calls` or `calls_trace`, not both".to_owned());
    }
    Ok(case)
}

/// A fault rule with `{table}` and `<NOW±d>` filled in as a run would, to check its shape at load.
fn fill_for_check(rule: &Value) -> Value {
    match rule {
        Value::String(text) => Value::String(dynamo_wire::expect::resolve_now(
            &text.replace("{table}", "t"),
            0,
        )),
        Value::Array(items) => Value::Array(items.iter().map(fill_for_check).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), fill_for_check(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn parse_step(raw: Value) -> Result<Step, String> {
    let step = parse_any_step(raw)?;
    if matches!(step.op, StepOp::Wait(_) | StepOp::Release { .. }) {
        return Err(format!(
            "`{}` is a member of a `parallel` group, not a step of its own",
            step.op.name()
        ));
    }
    Ok(step)
}

/// A `parallel` group: `http` members (sent, not awaited), `wait` and `release` members in between. The
/// calls of overlapping requests interleave, so only the group itself can expect calls.
fn parse_group(members: Vec<Value>) -> Result<StepOp, String> {
    if members.is_empty() {
        return Err("a `parallel` group lists its members".to_owned());
    }
    let members = members
        .into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let member = parse_any_step(raw).map_err(|e| format!("member {}: {e}", index + 1))?;
            match &member.op {
                StepOp::Http(_) | StepOp::Wait(_) | StepOp::Release { .. } => {}
                other => {
                    return Err(format!(
                        "member {}: a group holds `http`, `wait` and `release` members, not `{}`",
                        index + 1,
                        other.name()
                    ));
                }
            }
            let expects_calls = member
                .expect
                .as_ref()
                .is_some_and(|e| e.calls.is_some() || e.calls_trace.is_some());
            if expects_calls {
                return Err(format!(
                    "member {}: overlapping requests' calls interleave; expect calls on the group",
                    index + 1
                ));
            }
            if member.within_ms.is_some() {
                return Err(format!(
                    "member {}: `within_ms` is for steps of their own; a group's waits have deadlines",
                    index + 1
                ));
            }
            Ok(member)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !members.iter().any(|m| matches!(m.op, StepOp::Http(_))) {
        return Err("a `parallel` group needs at least one `http` member".to_owned());
    }
    Ok(StepOp::Parallel(members))
}

/// `wait: {held: NAME}`, `wait: {calls: N}` or `wait: {answered: ACTOR}`.
fn parse_wait(args: Map<String, Value>) -> Result<WaitFor, String> {
    let allowed = "`held: HOLD`, `calls: N` or `answered: ACTOR`";
    let mut entries = args.into_iter();
    let (Some((kind, value)), None) = (entries.next(), entries.next()) else {
        return Err(format!("wait for one thing: {allowed}"));
    };
    match (kind.as_str(), value) {
        ("held", Value::String(name)) => Ok(WaitFor::Held(name)),
        ("answered", Value::String(actor)) => Ok(WaitFor::Answered(actor)),
        ("calls", Value::Number(n)) if n.as_u64().is_some_and(|n| n >= 1) => {
            Ok(WaitFor::Calls(n.as_u64().unwrap_or(1) as usize))
        }
        (kind, value) => Err(format!("`{kind}: {value}`: wait for {allowed}")),
    }
}

fn parse_any_step(raw: Value) -> Result<Step, String> {
    let Value::Object(mut map) = raw else {
        return Err("a step must be a map such as `read: {id: abc}`".to_owned());
    };
    let actor = match map.remove("as") {
        None => "main".to_owned(),
        Some(Value::String(actor)) => actor,
        Some(_) => return Err("`as:` must be a name".to_owned()),
    };
    let within_ms = match map.remove("within_ms") {
        None => None,
        Some(Value::Number(n)) if n.as_u64().is_some_and(|ms| (1..=600_000).contains(&ms)) => {
            n.as_u64()
        }
        Some(other) => {
            return Err(format!(
                "`within_ms: {other}`: a time limit in milliseconds, from 1 to 600000"
            ));
        }
    };
    let expect = match map.remove("expect") {
        None => None,
        Some(value) => {
            Some(serde_json::from_value::<StepExpect>(value).map_err(|e| format!("expect: {e}"))?)
        }
    };
    if map.len() != 1 {
        let keys: Vec<&String> = map.keys().collect();
        return Err(format!(
            "a step names exactly one operation (besides `as`, `expect` and `within_ms`), found {keys:?}"
        ));
    }
    let (name, args) = map.into_iter().next().expect("one key");
    if name == "parallel" {
        let Value::Array(members) = args else {
            return Err("`parallel:` takes a list of members".to_owned());
        };
        let op = parse_group(members).map_err(|e| format!("parallel: {e}"))?;
        if let Some(e) = &expect
            && *e
                != (StepExpect {
                    calls: e.calls.clone(),
                    calls_trace: e.calls_trace.clone(),
                    ..StepExpect::default()
                })
        {
            return Err(
                "a `parallel` group expects only `calls` or `calls_trace`; its members expect the rest"
                    .to_owned(),
            );
        }
        return Ok(Step {
            op,
            actor,
            expect,
            within_ms,
        });
    }
    let args = match args {
        Value::Null => Map::new(),
        Value::Object(args) => args,
        _ => return Err(format!("`{name}:` takes a map of arguments")),
    };
    let op = parse_op(&name, args).map_err(|e| format!("{name}: {e}"))?;
    if expect.as_ref().and_then(|e| e.still_running).is_some() && within_ms.is_none() {
        return Err("`still_running` needs a time limit: give the step `within_ms: N`".to_owned());
    }
    Ok(Step {
        op,
        actor,
        expect,
        within_ms,
    })
}

fn parse_op(name: &str, mut args: Map<String, Value>) -> Result<StepOp, String> {
    let mut string = |key: &str| -> Result<String, String> {
        match args.remove(key) {
            Some(Value::String(s)) => Ok(s),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(_) => Err(format!("`{key}` must be a string")),
            None => Err(format!("`{key}` is required")),
        }
    };
    let op = match name {
        "new_handler" => StepOp::NewHandler {
            config: match args.remove("config") {
                Some(Value::Object(config)) => config,
                None => Map::new(),
                Some(_) => return Err("`config` must be a map".to_owned()),
            },
            gc_maxlifetime: args.remove("gc_maxlifetime").and_then(|v| v.as_i64()),
        },
        "open" => StepOp::Open(OpenArgs {
            save_path: string("save_path").unwrap_or_default(),
            name: string("name")?,
        }),
        "read" => StepOp::Read { id: string("id")? },
        "write" => {
            let id = string("id")?;
            let data = write_data(&mut args)?;
            StepOp::Write { id, data }
        }
        "close" => StepOp::Close {
            session_id: string("session_id").unwrap_or_default(),
        },
        "destroy" => StepOp::Destroy { id: string("id")? },
        "gc" => StepOp::Gc {
            max_lifetime: args
                .remove("max_lifetime")
                .and_then(|v| v.as_i64())
                .unwrap_or(1440),
        },
        "garbage_collect" => StepOp::GarbageCollect,
        "ttl_sweep" => StepOp::TtlSweep,
        "clock" => StepOp::Clock {
            advance: args
                .remove("advance")
                .and_then(|v| v.as_i64())
                .ok_or("`advance` (seconds) is required")?,
        },
        "seed" => StepOp::Seed {
            items: match args.remove("items") {
                Some(Value::Array(items)) => items,
                _ => return Err("`items` (a list) is required".to_owned()),
            },
        },
        "http" => StepOp::Http(
            serde_json::from_value::<HttpRequest>(Value::Object(std::mem::take(&mut args)))
                .map_err(|e| e.to_string())?,
        ),
        "wait" => StepOp::Wait(parse_wait(std::mem::take(&mut args))?),
        "release" => StepOp::Release {
            hold: string("hold")?,
        },
        other => return Err(format!("unknown operation `{other}`")),
    };
    if let Some(extra) = args.keys().next() {
        return Err(format!("unknown argument `{extra}`"));
    }
    Ok(op)
}

/// `data: text`, `data_b64: ...` or `data_repeat: {byte: "a", count: N}`.
fn write_data(args: &mut Map<String, Value>) -> Result<Vec<u8>, String> {
    if let Some(value) = args.remove("data") {
        return match value {
            Value::String(s) => Ok(s.into_bytes()),
            Value::Number(n) => Ok(n.to_string().into_bytes()),
            _ => Err("`data` must be a string".to_owned()),
        };
    }
    if let Some(value) = args.remove("data_b64") {
        let encoded = value.as_str().ok_or("`data_b64` must be a string")?;
        return BASE64
            .decode(encoded)
            .map_err(|e| format!("`data_b64` is not base64: {e}"));
    }
    if let Some(Value::Object(repeat)) = args.remove("data_repeat") {
        let byte = repeat
            .get("byte")
            .and_then(Value::as_str)
            .and_then(|s| s.bytes().next())
            .ok_or("`data_repeat.byte` must be a one-character string")?;
        let count = repeat
            .get("count")
            .and_then(Value::as_u64)
            .ok_or("`data_repeat.count` must be a number")?;
        return Ok(vec![byte; count as usize]);
    }
    Err("one of `data`, `data_b64` or `data_repeat` is required".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> Result<Vec<Case>, LoadError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.yaml");
        std::fs::write(&path, text).unwrap();
        load_file(&path)
    }

    #[test]
    fn defaults_merge_under_cases_and_null_removes_a_key() {
        let cases = load_str(
            r#"
group: B
defaults:
  config: {table_name: "{table}", locking: true}
  gc_maxlifetime: 1440
  open: {name: CAKEPHP}
cases:
  - id: C1
    given: {config: {locking: null, consistent_read: false}}
    steps:
      - read: {id: abc}
        expect: {value: ""}
      - write: {id: abc, data_b64: "gP8A"}
        as: other
"#,
        )
        .unwrap();
        let case = &cases[0];
        assert_eq!(case.group, "B");
        assert_eq!(case.given.gc_maxlifetime, Some(1440));
        assert_eq!(
            Value::Object(case.given.config.clone()),
            serde_json::json!({"table_name": "{table}", "consistent_read": false})
        );
        assert_eq!(case.open.as_ref().unwrap().name, "CAKEPHP");
        assert_eq!(case.steps[1].actor, "other");
        assert_eq!(
            case.steps[1].op,
            StepOp::Write {
                id: "abc".into(),
                data: vec![0x80, 0xff, 0x00]
            }
        );
        assert_eq!(
            case.steps[0].expect.as_ref().unwrap().value,
            Some(Value::String(String::new()))
        );
    }

    #[test]
    fn yaml_merge_keys_are_applied() {
        let cases = load_str(
            r#"
group: C
touch: &touch {op: UpdateItem}
cases:
  - id: C2
    expect:
      calls:
        - <<: *touch
          count: 2
"#,
        );
        // Unknown top-level keys other than anchors' holders are allowed; the call got the merged op.
        let cases = cases.unwrap();
        let call = &cases[0].expect.calls.as_ref().unwrap()[0];
        assert_eq!(call.op, "UpdateItem");
        assert_eq!(call.quantity, dynamo_wire::expect::Quantity::Exactly(2));
    }

    #[test]
    fn errors_name_the_case_and_the_problem() {
        let error = load_str("group: X\ncases:\n  - id: C9\n    steps:\n      - reed: {id: a}\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("case C9"), "{error}");
        assert!(error.contains("unknown operation `reed`"), "{error}");
    }

    #[test]
    fn parallel_groups_are_checked_at_load() {
        let case = |steps: &str| {
            format!("group: X\ncases:\n  - id: P1\n    level: http\n    steps:\n{steps}")
        };
        let group = "      - parallel:\n          - http: {path: /session}\n          - wait: {held: a}\n          - release: {hold: a}\n";
        let cases = load_str(&case(group)).unwrap();
        let StepOp::Parallel(members) = &cases[0].steps[0].op else {
            panic!("{:?}", cases[0].steps[0]);
        };
        assert_eq!(members[1].op, StepOp::Wait(WaitFor::Held("a".into())));
        assert_eq!(members[2].op, StepOp::Release { hold: "a".into() });
        for (steps, message) in [
            ("      - wait: {held: a}\n", "member of a `parallel` group"),
            (
                "      - parallel:\n          - read: {id: a}\n",
                "not `read`",
            ),
            (
                "      - parallel:\n          - wait: {calls: 2}\n",
                "at least one `http` member",
            ),
            (
                "      - parallel:\n          - http: {path: /}\n            expect: {calls: []}\n",
                "expect calls on the group",
            ),
            (
                "      - parallel:\n          - http: {path: /}\n          - wait: {hled: a}\n",
                "wait for `held: HOLD`",
            ),
            (
                "      - parallel:\n          - http: {path: /}\n        expect: {status: 200}\n",
                "expects only `calls`",
            ),
        ] {
            let error = load_str(&case(steps)).unwrap_err().to_string();
            assert!(error.contains(message), "{steps}: {error}");
        }
        let handler_level = "group: X\ncases:\n  - id: P2\n    steps:\n".to_owned() + group;
        let error = load_str(&handler_level).unwrap_err().to_string();
        assert!(error.contains("handler-level case"), "{error}");
    }
}
