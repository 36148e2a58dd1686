//! What the runner fills into a case before playing it: `{table}`, `<NOW±d>` in seeds and written data, the
//! SDK option lookup, and the fault rules with the case's values.

use serde_json::{Map, Value};

use super::play_handler::handler_request;
use super::runner::HarnessError;
use super::timeline::unix_now;
use crate::protocol::HandlerRequest;
use crate::scenario::StepOp;
use dynamo_wire::FaultRule;
use dynamo_wire::expect::{Bindings, resolve_now, substitute_sids};

/// Case-wide substitutions: `{table}` everywhere, `<NOW±d>` in seeded data.
pub(super) struct Substitutions {
    pub(super) table: String,
    pub(super) now: i64,
    /// HTTP cases run on the wall clock: `<NOW>` in a mid-case seed means the moment of seeding.
    pub(super) live_now: bool,
}

impl Substitutions {
    pub(super) fn table_only(&self, value: &Value) -> Value {
        map_strings(value, &|s| s.replace("{table}", &self.table))
    }

    pub(super) fn seeded(&self, value: &Value) -> Value {
        self.seeded_with(value, &Bindings::default())
    }

    /// Seeded data may also name sessions an earlier step created (`CAKEPHP_<SID1>`).
    pub(super) fn seeded_with(&self, value: &Value, bindings: &Bindings) -> Value {
        map_strings(value, &|s| {
            let s = substitute_sids(&s.replace("{table}", &self.table), bindings);
            resolve_now(&s, self.now_at_seed())
        })
    }

    /// Items seeded mid-case are relative to the moment they are seeded.
    pub(super) fn now_at_seed(&self) -> i64 {
        if self.live_now {
            unix_now().floor() as i64
        } else {
            self.now
        }
    }
}

pub(super) fn map_strings(value: &Value, f: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::String(s) => Value::String(f(s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| map_strings(v, f)).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (f(k), map_strings(v, f))).collect())
        }
        other => other.clone(),
    }
}

/// Finds a key of a PHP-style options array the way the SDK's setter lookup does: case and underscores ignored.
pub(super) fn config_value<'a>(config: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    let wanted: String = key
        .chars()
        .filter(|c| *c != '_')
        .collect::<String>()
        .to_lowercase();
    config.iter().find_map(|(k, v)| {
        let normal = k
            .chars()
            .filter(|c| *c != '_')
            .collect::<String>()
            .to_lowercase();
        (normal == wanted).then_some(v)
    })
}

pub(super) fn config_str(config: &Map<String, Value>, key: &str, default: &str) -> String {
    config_value(config, key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(default)
        .to_owned()
}

pub(super) fn parse_faults(
    raw: &[Value],
    subs: &Substitutions,
) -> Result<Vec<FaultRule>, HarnessError> {
    raw.iter()
        .map(|rule| {
            serde_json::from_value::<FaultRule>(subs.table_only(rule))
                .map_err(|e| HarnessError(format!("fault rule {rule}: {e}")))
        })
        .collect()
}

/// `<NOW±d>` inside data a step writes (a CakePHP `Config.time`, say) becomes the time on the handler's clock
/// when the step runs, as in seeded items.
pub(super) fn resolve_now_in_data(op: &StepOp, now: i64) -> HandlerRequest {
    match op {
        StepOp::Write { id, data } if data.windows(4).any(|w| w == b"<NOW") => {
            match std::str::from_utf8(data) {
                Ok(text) => HandlerRequest::write(id.clone(), resolve_now(text, now).as_bytes()),
                Err(_) => handler_request(op),
            }
        }
        other => handler_request(other),
    }
}
