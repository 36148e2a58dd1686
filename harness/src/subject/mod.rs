//! Subjects: the session handlers under test, behind one trait.
//!
//! A subject has up to two faces: handler operations (open/read/write/... with explicit ids, driven through the
//! protocol in [`crate::protocol`]) and HTTP (a web app speaking the contract in docs/seams.md). The runner asks
//! a subject for what a case needs; a subject that cannot serve it says why, and the case is skipped with that
//! reason.

mod child;
pub mod cmd;
pub mod external;
pub mod pair;
pub mod php;
pub mod php_http;
pub mod rust;
pub mod rust_http;
pub mod shared;

use async_trait::async_trait;

use crate::protocol::{HandlerRequest, HandlerResponse};
use crate::scenario::Case;

/// The two faces a case can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Handler,
    Http,
}

/// What every subject is started with: where DynamoDB is (the wire proxy) and how to sign in.
#[derive(Debug, Clone)]
pub struct SubjectEnv {
    pub dynamodb_endpoint: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    /// The table HTTP apps store sessions in (handler-level cases get a fresh table each).
    pub table: String,
}

/// One handler object (PHP) or its Rust equivalent, answering protocol requests in order.
#[async_trait]
pub trait HandlerDriver: Send {
    async fn call(&mut self, request: &HandlerRequest) -> anyhow::Result<HandlerResponse>;
}

/// A session handler implementation under test.
#[async_trait]
pub trait Subject: Send + Sync {
    /// The name used on the command line and in reports (`rust`, `php`, `php-http`, ...).
    fn name(&self) -> &str;

    /// `None` when the subject can run cases of this level; otherwise the reason it cannot.
    fn unsupported(&self, level: Level) -> Option<String>;

    /// `None` when the subject can run this case as far as the subject itself can tell; otherwise why not (a
    /// `cmd:` program whose hello says it cannot freeze or move its clock, say). Checked before
    /// [`Subject::unsupported`].
    fn skip_reason_for(&self, _case: &Case) -> Option<String> {
        None
    }

    /// A fresh driver for handler-level cases; each holds its own handler object(s).
    async fn driver(&self) -> anyhow::Result<Box<dyn HandlerDriver>>;

    /// The built-in subject this one is, or is another face of (`php@3.189` is `php`; the reference handler
    /// behind the protocol is `rust`): a case's `deviations:` and `given.subjects` name subjects by it.
    fn same_as(&self) -> &str {
        self.name()
    }

    /// What really ran, where the subject can say (`aws-sdk-php 3.339.15`), for reports.
    fn implementation(&self) -> Option<String> {
        None
    }

    /// Base URL of the web app for HTTP-level cases.
    fn http_base_url(&self) -> Option<String> {
        None
    }

    /// For a pair of web apps (`php-http+rust-http`): the second app's base URL.
    fn partner_base_url(&self) -> Option<String> {
        None
    }

    /// Stops whatever the subject started. Drop must also stop it.
    async fn shutdown(self: Box<Self>) -> anyhow::Result<()> {
        Ok(())
    }
}

/// The subject names `conform --subjects` accepts, with a line each for `--help`.
/// The NAME and the rest of a `KIND:NAME=REST` subject (`cmd:`, `http:`): a name of letters, digits, `-`,
/// `_` or `.` that no built-in subject has. The error says what is wrong, naming `rest_name` (`COMMAND`).
pub(crate) fn named_spec<'a>(
    spec: &'a str,
    prefix: &str,
    rest_name: &str,
) -> Result<(&'a str, &'a str), String> {
    let rest = spec
        .strip_prefix(prefix)
        .ok_or_else(|| format!("`{spec}` does not start with {prefix}"))?;
    let (name, value) = rest
        .split_once('=')
        .ok_or_else(|| format!("`{spec}`: expected {prefix}NAME={rest_name}"))?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "`{spec}`: NAME must be letters, digits, '-', '_' or '.', not {name:?}"
        ));
    }
    if KNOWN_SUBJECTS.iter().any(|(known, _)| *known == name) {
        let kind = prefix.trim_end_matches(':');
        return Err(format!(
            "`{spec}`: NAME {name:?} is a built-in subject's; choose another (e.g. {name}-{kind})"
        ));
    }
    Ok((name, value))
}

pub const KNOWN_SUBJECTS: &[(&str, &str)] = &[
    (
        "rust",
        "the Rust reference handler (dynamo-session), in process",
    ),
    (
        "php",
        "the DynamoSession plugin class on the AWS SDK for PHP, in a long-lived PHP worker",
    ),
    (
        "php-http",
        "the CakePHP 2.10 test app with the plugin, under php-fpm behind nginx (or php -S)",
    ),
    ("rust-http", "the Rust test app on dynamo-session"),
    (
        "cmd:NAME=COMMAND",
        "any program speaking the handler-operations protocol (docs/handler-protocol.md), reported as NAME; \
         e.g. 'cmd:rust-worker=dynamo-harness worker'",
    ),
    (
        "http:NAME=URL",
        "a web app someone else runs, speaking the HTTP contract (docs/seams.md), reported as NAME; needs \
         --backend endpoint --table NAME (its table)",
    ),
];

/// Where the subjects that need outside programs find them.
#[derive(Debug, Clone, Default)]
pub struct SubjectSettings {
    /// The composer vendor folder the PHP subjects load (`vendor/autoload.php` inside).
    pub php_vendor: Option<std::path::PathBuf>,
    /// `php` executable; default `php` on PATH.
    pub php_binary: Option<std::path::PathBuf>,
    /// Worker count for `php -S` (PHP_CLI_SERVER_WORKERS).
    pub php_server_workers: Option<u32>,
    /// How php-http is served: php-fpm behind nginx, or `php -S`; `None`: $DYNAMO_HARNESS_PHP_SERVER, else fpm
    /// where both are installed, else `php -S` (see [`php_http::PhpServer`]).
    pub php_server: Option<php_http::PhpServer>,
    /// php-fpm's pool size (`pm = static`, `pm.max_children`) for php-http under fpm; default 4.
    pub php_fpm_children: Option<u32>,
    /// Run the web apps' handlers in locking mode.
    pub locking: bool,
    /// CakePHP `Session` keys merged into the web apps' Session block (a case's `given.app.session`).
    pub app_session: serde_json::Map<String, serde_json::Value>,
    /// `ini_set` calls the web apps make before the session starts (`given.app.ini`).
    pub app_ini: std::collections::BTreeMap<String, String>,
    /// The web apps' environment: `Some` sets a variable, `None` unsets it (`given.app.env`).
    pub app_env: std::collections::BTreeMap<String, Option<String>>,
}

/// Whether the subject is a web app, or a pair of them (their cases share one table and one proxy).
pub fn is_http(name: &str) -> bool {
    if external::is_external(name) {
        return external::ExternalSpec::parse(name).is_ok();
    }
    !cmd::is_cmd(name) && name.split('+').all(|part| part.ends_with("-http"))
}

/// Whether the command line may name this subject: a known one, a pair of web apps `A+B`, or a well-formed
/// `cmd:NAME=COMMAND`.
pub fn is_known(name: &str) -> bool {
    if cmd::is_cmd(name) {
        return cmd::CmdSpec::parse(name).is_ok();
    }
    if external::is_external(name) {
        return external::ExternalSpec::parse(name).is_ok();
    }
    if php::is_labelled(name) {
        return true;
    }
    let known = |n: &str| KNOWN_SUBJECTS.iter().any(|(k, _)| *k == n);
    match name.split_once('+') {
        Some((a, b)) => known(a) && known(b) && is_http(name),
        None => known(name),
    }
}

/// Starts the named subject. A subject that cannot run here (no PHP vendor tree, say) still comes back, as one
/// that skips every case with the reason, so the matrix shows it.
pub async fn start(name: &str, env: &SubjectEnv, settings: &SubjectSettings) -> Box<dyn Subject> {
    // A command or a URL may hold a `+`; neither is a pair.
    let single = cmd::is_cmd(name) || external::is_external(name);
    if let Some((first, second)) = name.split_once('+').filter(|_| !single) {
        return Box::new(pair::AppPair::start(name, first, second, env, settings).await);
    }
    start_single(name, env, settings).await
}

/// Starts one subject (not a pair).
pub async fn start_single(
    name: &str,
    env: &SubjectEnv,
    settings: &SubjectSettings,
) -> Box<dyn Subject> {
    if cmd::is_cmd(name) {
        return cmd::start(name).await;
    }
    if external::is_external(name) {
        let app = match external::ExternalSpec::parse(name) {
            Ok(spec) => external::ExternalApp::probe(&spec, settings.locking).await,
            Err(reason) => Err(anyhow::anyhow!(reason)),
        };
        return match app {
            Ok(app) => Box::new(app),
            Err(error) => Box::new(Unavailable {
                name: name.to_owned(),
                reason: format!("{error:#}"),
            }),
        };
    }
    let started: anyhow::Result<Box<dyn Subject>> = match name {
        "rust" => Ok(Box::new(rust::RustSubject::new())),
        "php" => php::PhpSubject::start(name, settings)
            .await
            .map(|s| Box::new(s) as Box<dyn Subject>),
        labelled if php::is_labelled(labelled) => {
            php::PhpSubject::start_labelled(labelled, settings)
                .await
                .map(|s| Box::new(s) as Box<dyn Subject>)
        }
        "php-http" => php_http::PhpHttpSubject::start(env, settings)
            .await
            .map(|s| Box::new(s) as Box<dyn Subject>),
        "rust-http" => rust_http::RustHttpSubject::start(env, settings)
            .await
            .map(|s| Box::new(s) as Box<dyn Subject>),
        other => Err(anyhow::anyhow!(
            "unknown subject `{other}`; known: {}",
            KNOWN_SUBJECTS
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    started.unwrap_or_else(|error| {
        Box::new(Unavailable {
            name: name.to_owned(),
            reason: format!("{error:#}"),
        })
    })
}

/// A subject that could not start: every case skips with the reason.
pub struct Unavailable {
    pub name: String,
    pub reason: String,
}

#[async_trait]
impl Subject for Unavailable {
    fn name(&self) -> &str {
        &self.name
    }

    fn unsupported(&self, _level: Level) -> Option<String> {
        Some(self.reason.clone())
    }

    async fn driver(&self) -> anyhow::Result<Box<dyn HandlerDriver>> {
        anyhow::bail!("{}", self.reason)
    }
}

/// `DYNAMO_TEST_APP_SESSION`: the JSON merged into the apps' Session block (docs/seams.md).
pub const APP_SESSION_VAR: &str = "DYNAMO_TEST_APP_SESSION";
/// `DYNAMO_TEST_APP_INI`: the JSON of the apps' `ini_set` calls.
pub const APP_INI_VAR: &str = "DYNAMO_TEST_APP_INI";
/// `DYNAMO_TEST_APP_UNSET`: the variables the apps remove from their environment, comma-separated.
pub const APP_UNSET_VAR: &str = "DYNAMO_TEST_APP_UNSET";

/// A JSON setting as the apps read it: `base64:` and the base64 of the JSON (php-fpm's `env[...]` lines
/// cannot carry the JSON's double quotes).
fn encoded_json(value: &serde_json::Value) -> String {
    use base64::Engine as _;
    format!(
        "base64:{}",
        base64::engine::general_purpose::STANDARD.encode(value.to_string())
    )
}

/// The environment both web apps read: the plugin's own variables (docs in plugin/DynamoSession/README.md), then
/// the case's app settings (docs/seams.md, "Per-case app configuration"): [`APP_SESSION_VAR`], [`APP_INI_VAR`],
/// and `app_env` applied over the list, where `{endpoint}` and `{table}` in a value stand for the app's DynamoDB
/// endpoint and table, and an unset variable is left out and named in [`APP_UNSET_VAR`] (a server inherits the
/// harness's own environment, so leaving it out alone would not unset it; the apps remove what that names).
pub fn app_env(env: &SubjectEnv, settings: &SubjectSettings) -> Vec<(String, String)> {
    let mut vars = base_app_env(env, settings);
    if !settings.app_session.is_empty() {
        let session = serde_json::Value::Object(settings.app_session.clone());
        vars.push((APP_SESSION_VAR.to_owned(), encoded_json(&session)));
    }
    if !settings.app_ini.is_empty() {
        let ini = serde_json::to_value(&settings.app_ini).unwrap_or_default();
        vars.push((APP_INI_VAR.to_owned(), encoded_json(&ini)));
    }
    let mut unset = Vec::new();
    for (name, value) in &settings.app_env {
        vars.retain(|(key, _)| key != name);
        match value {
            Some(value) => vars.push((
                name.clone(),
                value
                    .replace("{endpoint}", &env.dynamodb_endpoint)
                    .replace("{table}", &env.table),
            )),
            None => unset.push(name.as_str()),
        }
    }
    if !unset.is_empty() {
        vars.push((APP_UNSET_VAR.to_owned(), unset.join(",")));
    }
    vars
}

/// The plugin's variables for `env`, before any case setting.
fn base_app_env(env: &SubjectEnv, settings: &SubjectSettings) -> Vec<(String, String)> {
    vec![
        (
            "COMANAGE_REGISTRY_DYNAMODB_REGION".to_owned(),
            env.region.clone(),
        ),
        (
            "COMANAGE_REGISTRY_DYNAMODB_ENDPOINT".to_owned(),
            env.dynamodb_endpoint.clone(),
        ),
        (
            "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_ACCESSKEY".to_owned(),
            env.access_key.clone(),
        ),
        (
            "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_SECRETACCESSKEY".to_owned(),
            env.secret_key.clone(),
        ),
        (
            "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_TABLE".to_owned(),
            env.table.clone(),
        ),
        (
            "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_LOCKING".to_owned(),
            if settings.locking { "true" } else { "false" }.to_owned(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_env_carries_the_case_settings() {
        let env = SubjectEnv {
            dynamodb_endpoint: "http://127.0.0.1:9".to_owned(),
            region: "us-east-1".to_owned(),
            access_key: "k".to_owned(),
            secret_key: "s".to_owned(),
            table: "t".to_owned(),
        };
        let mut settings = SubjectSettings::default();
        let plain = app_env(&env, &settings);
        assert_eq!(plain.len(), 6);
        assert!(!plain.iter().any(|(k, _)| k.starts_with("DYNAMO_TEST_APP_")));

        settings
            .app_session
            .insert("checkAgent".to_owned(), serde_json::Value::Bool(false));
        settings
            .app_ini
            .insert("session.gc_probability".to_owned(), "1".to_owned());
        settings
            .app_env
            .insert("COMANAGE_REGISTRY_DYNAMODB_ENDPOINT".to_owned(), None);
        settings.app_env.insert(
            "AWS_ENDPOINT_URL_DYNAMODB".to_owned(),
            Some("{endpoint}/{table}".to_owned()),
        );
        let vars: std::collections::BTreeMap<_, _> = app_env(&env, &settings).into_iter().collect();
        assert!(!vars.contains_key("COMANAGE_REGISTRY_DYNAMODB_ENDPOINT"));
        assert_eq!(vars[APP_UNSET_VAR], "COMANAGE_REGISTRY_DYNAMODB_ENDPOINT");
        assert_eq!(vars["AWS_ENDPOINT_URL_DYNAMODB"], "http://127.0.0.1:9/t");
        use base64::Engine as _;
        let decode = |v: &str| {
            let b64 = v.strip_prefix("base64:").unwrap();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap(),
            )
            .unwrap()
        };
        assert_eq!(decode(&vars[APP_SESSION_VAR]), r#"{"checkAgent":false}"#);
        assert_eq!(
            decode(&vars[APP_INI_VAR]),
            r#"{"session.gc_probability":"1"}"#
        );
        assert!(
            vars.values().all(|v| !v.contains('"')),
            "php-fpm env lines take no quotes"
        );
    }
}
