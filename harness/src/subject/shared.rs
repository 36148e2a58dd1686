//! A subject playing on a shared table (`conform --table NAME`): the cases that cannot run on one table among
//! other runs' items are skipped with the reason, and a handler's keys carry the case's prefix, given to it
//! in the session name of `open` (the SDK's key is `<session name>_<id>`), so the handler itself needs no
//! change. Web apps get the prefix in their session cookie instead (the plan sets it; see
//! [`crate::environment::table::Scope`]).

use async_trait::async_trait;

use super::{HandlerDriver, Level, Subject};
use crate::environment::table::{self, SHARED_HASH_KEY, Scope};
use crate::protocol::{HandlerRequest, HandlerResponse};
use crate::scenario::{Case, StepOp};

pub struct Scoped {
    inner: Box<dyn Subject>,
}

impl Scoped {
    pub fn new(inner: Box<dyn Subject>) -> Self {
        Scoped { inner }
    }
}

/// Why `case` cannot play on a shared table, if it cannot.
pub fn shared_table_skip(case: &Case) -> Option<String> {
    if !case.given.create_table {
        return Some(
            "needs its table to be missing; a run on a shared table (--table) has the table"
                .to_owned(),
        );
    }
    let hash_key = case.given.table_hash_key.clone().or_else(|| {
        case.given
            .config
            .iter()
            .find(|(k, _)| k.replace('_', "").eq_ignore_ascii_case("hashkey"))
            .and_then(|(_, v)| v.as_str().map(str::to_owned))
    });
    if let Some(key) = hash_key.filter(|k| k != SHARED_HASH_KEY) {
        return Some(format!(
            "needs a table keyed {key}; the shared table (--table) is keyed {SHARED_HASH_KEY}"
        ));
    }
    if let Some((_, name)) = case.given.config.iter().find(|(k, v)| {
        k.replace('_', "").eq_ignore_ascii_case("tablename") && v.as_str() != Some("{table}")
    }) {
        return Some(format!(
            "names its own table ({name}); a run on a shared table (--table) plays on that table only"
        ));
    }
    let collects = case.steps.iter().any(|step| match &step.op {
        StepOp::GarbageCollect => true,
        _ => step.http_requests().any(|request| request.path == "/gc"),
    });
    if collects {
        return Some(
            "garbage collection scans the whole table: on a shared table (--table) it would delete other \
             runs' expired sessions"
                .to_owned(),
        );
    }
    if case
        .given
        .faults
        .iter()
        .any(|rule| rule.pointer("/match/key").is_some())
    {
        return Some(
            "a fault rule matches a stored key, which carries the run's prefix on a shared table (--table)"
                .to_owned(),
        );
    }
    if case.given.app.session.contains_key("cookie") {
        return Some(
            "sets the session cookie, which carries the run's key prefix on a shared table (--table)"
                .to_owned(),
        );
    }
    let names = case
        .open
        .iter()
        .map(|open| &open.name)
        .chain(case.steps.iter().filter_map(|step| match &step.op {
            StepOp::Open(open) => Some(&open.name),
            _ => None,
        }));
    let mut names = names.peekable();
    if case.level == Level::Handler
        && (names.peek().is_none() || names.any(|n| n.starts_with('_') || n.is_empty()))
    {
        return Some(
            "opens no session name, or one the SDK trims underscores off: the key then has no part to carry \
             the run's prefix on a shared table (--table)"
                .to_owned(),
        );
    }
    None
}

#[async_trait]
impl Subject for Scoped {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn unsupported(&self, level: Level) -> Option<String> {
        self.inner.unsupported(level)
    }

    fn skip_reason_for(&self, case: &Case) -> Option<String> {
        // A case the subject cannot play at all says so first; the shared table is not why.
        if self.inner.unsupported(case.level).is_some() {
            return None;
        }
        self.inner
            .skip_reason_for(case)
            .or_else(|| shared_table_skip(case))
    }

    async fn driver(&self) -> anyhow::Result<Box<dyn HandlerDriver>> {
        let inner = self.inner.driver().await?;
        Ok(match table::scope() {
            Some(scope) => Box::new(ScopedDriver { inner, scope }),
            None => inner,
        })
    }

    fn same_as(&self) -> &str {
        self.inner.same_as()
    }

    fn implementation(&self) -> Option<String> {
        self.inner.implementation()
    }

    fn http_base_url(&self) -> Option<String> {
        self.inner.http_base_url()
    }

    fn partner_base_url(&self) -> Option<String> {
        self.inner.partner_base_url()
    }

    async fn shutdown(self: Box<Self>) -> anyhow::Result<()> {
        self.inner.shutdown().await
    }
}

/// Prefixes the session name of every `open`, and takes the prefix off what comes back (warnings and
/// exception messages name the stored key).
struct ScopedDriver {
    inner: Box<dyn HandlerDriver>,
    scope: Scope,
}

#[async_trait]
impl HandlerDriver for ScopedDriver {
    async fn call(&mut self, request: &HandlerRequest) -> anyhow::Result<HandlerResponse> {
        let mut response = match request {
            HandlerRequest::Open { save_path, name } if !name.is_empty() => {
                let prefixed = HandlerRequest::Open {
                    save_path: save_path.clone(),
                    name: format!("{}{name}", self.scope.prefix),
                };
                self.inner.call(&prefixed).await?
            }
            other => self.inner.call(other).await?,
        };
        let prefix = self.scope.prefix.as_str();
        if !prefix.is_empty() {
            for warning in &mut response.warnings {
                *warning = warning.replace(prefix, "");
            }
            if let Some(exception) = &mut response.exception {
                exception.message = exception.message.replace(prefix, "");
            }
        }
        Ok(response)
    }
}
