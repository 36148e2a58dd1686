//! A whole conformance run: every chosen backend × subject × case, in that nesting, so each backend and each
//! subject is started once.

use std::time::Duration;

use anyhow::Context as _;
use aws_credential_types::provider::ProvideCredentials as _;
use dynamo_backends::{BackendKind, BackendOptions, Progress};
use dynamo_wire::WireProxy;

use super::result::CaseResult;
use super::runner::{Backdrop, HttpBackdrop, RunOptions, run_case};
use super::table;
use crate::scenario::Case;
use crate::subject::{Level, SubjectEnv, SubjectSettings};

/// The table HTTP subjects (the web apps) keep their sessions in, as in the plugin's CloudFormation.
pub const APP_TABLE: &str = "dynamo_cakephp_sessions";

pub struct Plan {
    pub cases: Vec<Case>,
    pub subjects: Vec<String>,
    pub backends: Vec<BackendKind>,
    /// For the `endpoint` backend.
    pub endpoint: Option<String>,
    pub options: RunOptions,
    pub settings: SubjectSettings,
}

/// What the runner reports as it goes, for a progress bar.
pub enum Event<'a> {
    Backend(&'a str),
    Subject(&'a str),
    CaseDone(&'a CaseResult),
}

pub async fn run(
    plan: &Plan,
    progress: Progress,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> anyhow::Result<Vec<CaseResult>> {
    let mut results = Vec::new();
    let mut sequence = 0;
    for kind in &plan.backends {
        on_event(Event::Backend(kind.as_str()));
        let backend = dynamo_backends::start(&BackendOptions {
            kind: *kind,
            endpoint: plan.endpoint.clone(),
            progress: progress.clone(),
            ..BackendOptions::default()
        })
        .await
        .with_context(|| format!("starting the {kind} backend"))?;
        let backdrop = backdrop_of(backend.as_ref()).await?;
        for name in &plan.subjects {
            on_event(Event::Subject(name));
            for pass in passes(plan, name) {
                let settings = SubjectSettings {
                    locking: pass.locking,
                    ..plan.settings.clone()
                };
                run_pass(
                    plan,
                    name,
                    &settings,
                    &pass.cases,
                    &backdrop,
                    &mut sequence,
                    on_event,
                    &mut results,
                )
                .await?;
            }
        }
        tokio::time::timeout(Duration::from_secs(10), backend.shutdown())
            .await
            .context("the backend did not stop within 10 s")??;
    }
    Ok(results)
}

/// The cases one start of a subject runs, with the web-app setting they share.
struct Pass<'a> {
    locking: bool,
    cases: Vec<&'a Case>,
}

/// Groups the cases by the web-app settings they need. Handler-level cases (and subjects that are not web apps)
/// need none, so they run in the first pass; a web app is restarted for each further setting.
fn passes<'a>(plan: &'a Plan, subject: &str) -> Vec<Pass<'a>> {
    let default = plan.settings.locking;
    let mut passes: Vec<Pass<'a>> = vec![Pass {
        locking: default,
        cases: Vec::new(),
    }];
    for case in &plan.cases {
        let locking = match case.level {
            Level::Http if crate::subject::is_http(subject) => {
                case.given.app.locking.unwrap_or(default)
            }
            _ => default,
        };
        match passes.iter_mut().find(|p| p.locking == locking) {
            Some(pass) => pass.cases.push(case),
            None => passes.push(Pass {
                locking,
                cases: vec![case],
            }),
        }
    }
    passes.retain(|p| !p.cases.is_empty());
    passes
}

/// Starts the subject (and, for a web app, its proxy and table) and plays `cases`.
#[allow(clippy::too_many_arguments)]
async fn run_pass(
    plan: &Plan,
    name: &str,
    settings: &SubjectSettings,
    cases: &[&Case],
    backdrop: &Backdrop,
    sequence: &mut usize,
    on_event: &(dyn Fn(Event<'_>) + Sync),
    results: &mut Vec<CaseResult>,
) -> anyhow::Result<()> {
    let needs_app = crate::subject::is_http(name) && cases.iter().any(|c| c.level == Level::Http);
    // A web app keeps one DynamoDB endpoint for its life: it gets a proxy of its own, shared by its cases.
    let app_proxy = match needs_app {
        true => {
            table::ensure(&backdrop.client, APP_TABLE, "id").await?;
            Some(WireProxy::start(&backdrop.upstream_url).await?)
        }
        false => None,
    };
    let env = SubjectEnv {
        dynamodb_endpoint: app_proxy
            .as_ref()
            .map_or_else(|| backdrop.upstream_url.clone(), WireProxy::endpoint_url),
        region: backdrop.region.clone(),
        access_key: backdrop.access_key.clone(),
        secret_key: backdrop.secret_key.clone(),
        table: APP_TABLE.to_owned(),
    };
    let subject = crate::subject::start(name, &env, settings).await;
    let http = app_proxy
        .as_ref()
        .zip(subject.http_base_url())
        .map(|(proxy, base_url)| HttpBackdrop {
            proxy,
            table: APP_TABLE.to_owned(),
            base_url,
            partner_url: subject.partner_base_url(),
        });
    for case in cases {
        *sequence += 1;
        let result = run_case(
            case,
            subject.as_ref(),
            backdrop,
            http.as_ref(),
            &plan.options,
            *sequence,
        )
        .await;
        on_event(Event::CaseDone(&result));
        results.push(result);
    }
    drop(http);
    if let Err(error) = subject.shutdown().await {
        eprintln!("warning: stopping subject {name}: {error:#}");
    }
    Ok(())
}

/// The backend's endpoint and credentials, as the runner and the subjects need them.
pub async fn backdrop_of(backend: &dyn dynamo_backends::Backend) -> anyhow::Result<Backdrop> {
    let config = backend.sdk_config();
    let credentials = config
        .credentials_provider()
        .context("the backend's SDK configuration has no credentials")?
        .provide_credentials()
        .await
        .context("resolving the backend's credentials")?;
    Ok(Backdrop {
        backend_name: backend.kind().as_str().to_owned(),
        capabilities: *backend.capabilities(),
        client: aws_sdk_dynamodb::Client::new(&config),
        upstream_url: backend.endpoint_url().to_owned(),
        region: backend.region().to_owned(),
        access_key: credentials.access_key_id().to_owned(),
        secret_key: credentials.secret_access_key().to_owned(),
    })
}
