//! A whole conformance run: every chosen backend × subject × case. Each backend starts once; each subject once
//! per web-app setting (a web app once per lane, since its cases share its table). Cases run concurrently up
//! to `--jobs`, and the results come back in catalogue order, the same at any degree.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::StreamExt as _;
use tokio::sync::{RwLock, Semaphore};

use anyhow::Context as _;
use dynamo_backends::{BackendKind, BackendOptions, BackendTarget, Progress};
use dynamo_wire::WireProxy;

use super::result::CaseResult;
use super::runner::{HttpBackdrop, RunOptions, run_case};
use crate::environment::table::{self, Scope, Tally};
use crate::environment::{APP_TABLE, Backdrop, TtlProcessChoice, backdrop_of};
use crate::scenario::{AppGiven, Case, StepOp};
use crate::subject::{Level, SubjectEnv, SubjectSettings};

pub struct Plan {
    pub cases: Vec<Case>,
    pub subjects: Vec<String>,
    pub backends: Vec<BackendKind>,
    /// The endpoint URL and container image, for the kinds that use them.
    pub target: BackendTarget,
    pub options: RunOptions,
    pub settings: SubjectSettings,
    /// Which TTL process `ttl_sweep` steps run.
    pub ttl_process: TtlProcessChoice,
}

/// `conform --table NAME`: one existing table for the whole run (real AWS, where an operator provisions the
/// table and a run may not create any). Every key the run writes begins with `run_prefix`; each case (each web
/// app the harness starts) has a longer prefix of its own, see [`Scope`].
#[derive(Debug)]
pub struct SharedTable {
    pub name: String,
    /// Letters and digits (it goes into PHP session names), random per run.
    pub run_prefix: String,
    /// The session name of the `http:NAME=URL` apps (`--app-cookie`): their keys are `<it>_<sid>`.
    pub app_cookie: String,
    /// The harness's own calls on the table (seeds, checks, clean-up).
    pub tally: Arc<Tally>,
    /// The backend's client, once it is up: the clean-up after the run (or after Ctrl-C) uses it.
    client: OnceLock<aws_sdk_dynamodb::Client>,
}

impl SharedTable {
    pub fn new(name: &str, app_cookie: &str) -> Self {
        SharedTable {
            name: name.to_owned(),
            run_prefix: run_prefix(),
            app_cookie: app_cookie.to_owned(),
            tally: Arc::default(),
            client: OnceLock::new(),
        }
    }

    /// Deletes the run's items: those under its prefix, and with `external_app`, those under the
    /// `http:` app's session name (its cases' sessions). Returns how many went; nothing before the backend
    /// came up.
    pub async fn remove_run_items(&self, external_app: bool) -> anyhow::Result<usize> {
        let Some(client) = self.client.get() else {
            return Ok(0);
        };
        let mut removed =
            table::remove_prefixed(client, &self.name, &self.run_prefix, &self.tally).await?;
        if external_app {
            let app_keys = format!("{}_", self.app_cookie);
            removed += table::remove_prefixed(client, &self.name, &app_keys, &self.tally).await?;
        }
        Ok(removed)
    }

    /// A case's (or a started web app's) scope: `<run prefix><tag><n>k`, the closing `k` so that no number
    /// runs on into another's (`c1k` is no prefix of `c12k`).
    fn scope(&self, tag: &str, n: usize) -> Scope {
        Scope::prefixed(
            &self.name,
            format!("{}{tag}{n}k", self.run_prefix),
            Arc::clone(&self.tally),
        )
    }

    /// The scope of an `http:` app: its keys as it writes them, `<session name>_<sid>`.
    fn external_scope(&self) -> Scope {
        Scope {
            table: self.name.clone(),
            prefix: String::new(),
            filter: format!("{}_", self.app_cookie),
            cookie: self.app_cookie.clone(),
            tally: Arc::clone(&self.tally),
        }
    }
}

/// `h` and eight letters or digits from the clock and the process id: unique enough among runs on one table.
fn run_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut n = (nanos ^ (u128::from(std::process::id()) << 64)) % 36u128.pow(8);
    let mut prefix = String::from("h");
    for _ in 0..8 {
        let digit = (n % 36) as u32;
        prefix.push(char::from_digit(digit, 36).unwrap_or('0'));
        n /= 36;
    }
    prefix
}

/// What the runner reports as it goes, for a progress bar. Cases run concurrently, so events of different
/// cases interleave; `CaseStarted` and `CaseDone` name the case.
pub enum Event<'a> {
    Backend(&'a str),
    /// The backend is up, with what it was measured to do.
    BackendUp {
        name: &'a str,
        capabilities: &'a dynamo_backends::Capabilities,
        /// Which TTL process the run's `ttl_sweep` steps play there, in words.
        ttl_process: String,
    },
    CaseStarted {
        id: &'a str,
        subject: &'a str,
        backend: &'a str,
    },
    CaseDone(&'a CaseResult),
}

/// How many cases may be in flight at once; and, per backend, a case that must run alone waits until no other
/// case runs on that backend (and keeps every other case waiting while it runs).
struct Gate {
    jobs: Semaphore,
}

/// Per backend: cases take it shared, a case that must run alone takes it exclusively.
type AloneLock = RwLock<()>;

impl Gate {
    async fn run<T>(
        &self,
        alone_lock: &AloneLock,
        alone: bool,
        work: impl Future<Output = T>,
    ) -> T {
        let _permit = self
            .jobs
            .acquire()
            .await
            .expect("the semaphore is never closed");
        match alone {
            true => {
                let _only_me = alone_lock.write().await;
                work.await
            }
            false => {
                let _with_others = alone_lock.read().await;
                work.await
            }
        }
    }
}

/// A case must run alone when it says so, or when it sweeps TTL on a backend whose sweep covers every table
/// (its time would expire other cases' items).
pub fn must_run_alone(case: &Case, backdrop: &Backdrop) -> bool {
    case.alone
        || (backdrop.sweeper.is_some() && case.steps.iter().any(|step| step.op == StepOp::TtlSweep))
}

/// Plays every case on every backend for every subject, `jobs` cases at a time, and returns the results in
/// catalogue order (backend, subject, case), whatever finished first.
pub async fn run(
    plan: &Plan,
    jobs: usize,
    progress: Progress,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> anyhow::Result<Vec<CaseResult>> {
    let gate = Gate {
        jobs: Semaphore::new(jobs.max(1)),
    };
    let per_backend = plan
        .backends
        .iter()
        .enumerate()
        .map(|(backend_index, kind)| {
            let gate = &gate;
            let progress = progress.clone();
            async move {
                on_event(Event::Backend(kind.as_str()));
                let backend = dynamo_backends::start(&BackendOptions::for_kind(
                    *kind,
                    &plan.target,
                    progress,
                ))
                .await
                .with_context(|| format!("starting the {kind} backend"))?;
                let mut backdrop = backdrop_of(backend.as_ref(), plan.ttl_process).await?;
                if let Some(shared) = &plan.options.shared {
                    table::check_shared(&backdrop.client, &shared.name).await?;
                    let _ = shared.client.set(backdrop.client.clone());
                    // The backend's own TTL sweep covers every table, other runs' items included.
                    backdrop.sweeper = None;
                }
                on_event(Event::BackendUp {
                    name: kind.as_str(),
                    capabilities: backend.capabilities(),
                    ttl_process: backdrop.ttl_process(),
                });
                let alone_lock = AloneLock::new(());
                let pools = plan
                    .subjects
                    .iter()
                    .enumerate()
                    .flat_map(|(subject_index, name)| {
                        passes(plan, name)
                            .into_iter()
                            .map(move |pass| (subject_index, name, pass))
                    });
                let pools = pools
                    .enumerate()
                    .map(|(pool_index, (subject_index, name, pass))| {
                        let settings = pass.settings(&plan.settings);
                        let pool = Pool {
                            plan,
                            name,
                            backdrop: &backdrop,
                            gate,
                            alone_lock: &alone_lock,
                            lanes: jobs.max(1),
                            // Unique table names across backends, pools and cases, the same at any degree.
                            sequence_base: (backend_index * 100 + pool_index) * 10_000,
                            on_event,
                        };
                        async move {
                            let results = pool.run(&settings, &pass.cases).await?;
                            anyhow::Ok(
                                results
                                    .into_iter()
                                    .map(|(case_index, result)| {
                                        ((backend_index, subject_index, case_index), result)
                                    })
                                    .collect::<Vec<_>>(),
                            )
                        }
                    });
                let outcome = futures::future::try_join_all(pools).await;
                let stopped = tokio::time::timeout(Duration::from_secs(10), backend.shutdown())
                    .await
                    .context("the backend did not stop within 10 s");
                let results = outcome?;
                stopped??;
                anyhow::Ok(results.into_iter().flatten().collect::<Vec<_>>())
            }
        });
    let mut keyed: Vec<_> = futures::future::try_join_all(per_backend)
        .await?
        .into_iter()
        .flatten()
        .collect();
    keyed.sort_by_key(|(key, _)| *key);
    Ok(keyed.into_iter().map(|(_, result)| result).collect())
}

/// The cases one start of a subject runs (with their index in the plan), with the web-app setting they share.
struct Pass<'a> {
    /// The whole `given.app` of its cases, `locking` resolved (never `None`).
    app: AppGiven,
    cases: Vec<(usize, &'a Case)>,
}

impl Pass<'_> {
    /// The run's settings with this pass's web-app setting.
    fn settings(&self, run: &SubjectSettings) -> SubjectSettings {
        SubjectSettings {
            locking: self.app.locking.unwrap_or(run.locking),
            app_session: self.app.session.clone(),
            app_ini: self.app.ini.clone(),
            app_env: self.app.env.clone(),
            ..run.clone()
        }
    }
}

/// Groups the cases by the web-app settings they need: the whole `given.app`, compared by value (locking mode,
/// Session keys, ini, environment). Handler-level cases (and subjects that are not web apps) need none, and
/// neither does a case that will be skipped for this subject whatever the app (`skip`, `slow` without --slow, a
/// `subjects` list without it), so they all run in the first pass; a web app is started once per further setting.
fn passes<'a>(plan: &'a Plan, subject: &str) -> Vec<Pass<'a>> {
    let default = AppGiven {
        locking: Some(plan.settings.locking),
        ..AppGiven::default()
    };
    let mut passes: Vec<Pass<'a>> = vec![Pass {
        app: default.clone(),
        cases: Vec::new(),
    }];
    for (index, case) in plan.cases.iter().enumerate() {
        let skipped = case.skip.is_some()
            || (case.slow && !plan.options.slow)
            || case
                .given
                .subjects
                .as_ref()
                .is_some_and(|only| !only.iter().any(|s| s == subject));
        let app = match case.level {
            // An app the harness did not start runs one configuration: one pass, so its cases take turns on
            // its table (the app skips those that need another configuration).
            Level::Http
                if crate::subject::is_http(subject)
                    && !crate::subject::external::is_external(subject)
                    && !skipped =>
            {
                AppGiven {
                    locking: Some(case.given.app.locking.unwrap_or(plan.settings.locking)),
                    ..case.given.app.clone()
                }
            }
            _ => default.clone(),
        };
        match passes.iter_mut().find(|p| p.app == app) {
            Some(pass) => pass.cases.push((index, case)),
            None => passes.push(Pass {
                app,
                cases: vec![(index, case)],
            }),
        }
    }
    passes.retain(|p| !p.cases.is_empty());
    passes
}

/// One start of one subject with one setting, and the cases it plays.
struct Pool<'a> {
    plan: &'a Plan,
    name: &'a str,
    backdrop: &'a Backdrop,
    gate: &'a Gate,
    alone_lock: &'a AloneLock,
    /// Most web-app instances to start (each with its own table and proxy).
    lanes: usize,
    sequence_base: usize,
    on_event: &'a (dyn Fn(Event<'_>) + Sync),
}

/// One instance of the subject: for a web app, with its own proxy and table, playing one case at a time (its
/// cases share that table); a handler-level subject makes a fresh handler per case, so one instance serves
/// every case at once.
struct Lane {
    subject: Box<dyn crate::subject::Subject>,
    app: Option<(WireProxy, String)>,
    /// On a shared table: the web app's scope (its cases share it, one at a time).
    scope: Option<Scope>,
}

impl Lane {
    async fn start(
        pool: &Pool<'_>,
        settings: &SubjectSettings,
        table: Option<String>,
        scope: Option<Scope>,
    ) -> anyhow::Result<Self> {
        let mut settings = settings.clone();
        if let Some(scope) = scope.as_ref().filter(|s| !s.prefix.is_empty()) {
            // PHP's session name is the cookie's name and the key's prefix: the app's keys carry the scope's.
            settings.app_session.insert(
                "cookie".to_owned(),
                serde_json::Value::String(scope.cookie.clone()),
            );
        }
        let app = match table {
            Some(table) if pool.plan.options.shared.is_some() => {
                Some((WireProxy::start(&pool.backdrop.upstream_url).await?, table))
            }
            Some(table) => {
                table::provision(
                    &pool.backdrop.client,
                    &pool.backdrop.capabilities,
                    &table,
                    "id",
                    "expires",
                )
                .await?;
                Some((WireProxy::start(&pool.backdrop.upstream_url).await?, table))
            }
            None => None,
        };
        let env = SubjectEnv {
            dynamodb_endpoint: app.as_ref().map_or_else(
                || pool.backdrop.upstream_url.clone(),
                |(proxy, _)| proxy.endpoint_url(),
            ),
            region: pool.backdrop.region.clone(),
            access_key: pool.backdrop.access_key.clone(),
            secret_key: pool.backdrop.secret_key.clone(),
            table: app
                .as_ref()
                .map_or_else(|| APP_TABLE.to_owned(), |(_, table)| table.clone()),
        };
        let mut subject = crate::subject::start(pool.name, &env, &settings).await;
        if pool.plan.options.shared.is_some() {
            subject = Box::new(crate::subject::shared::Scoped::new(subject));
        }
        Ok(Lane {
            subject,
            app,
            scope,
        })
    }

    fn http(&self) -> Option<HttpBackdrop<'_>> {
        let (proxy, table) = self.app.as_ref()?;
        Some(HttpBackdrop {
            proxy,
            table: table.clone(),
            base_url: self.subject.http_base_url()?,
            partner_url: self.subject.partner_base_url(),
        })
    }

    async fn stop(self, name: &str) {
        if let Err(error) = self.subject.shutdown().await {
            eprintln!("warning: stopping subject {name}: {error:#}");
        }
    }
}

impl Pool<'_> {
    /// Starts the lanes and plays `cases` on them; results carry the case's index in the plan.
    async fn run(
        &self,
        settings: &SubjectSettings,
        cases: &[(usize, &Case)],
    ) -> anyhow::Result<Vec<(usize, CaseResult)>> {
        let needs_app =
            crate::subject::is_http(self.name) && cases.iter().any(|(_, c)| c.level == Level::Http);
        let lanes = match needs_app {
            // A web app's cases share its table: one case per app at a time, so more apps for more at once.
            // Every pool has tables of its own, even with one lane: the pools of a backend (one per subject and
            // app setting) run at the same time on it, and each clears its table before a case.
            true => {
                let external = crate::subject::external::is_external(self.name);
                // An app the harness did not start has one table and one session name: one case at a time.
                let count = match external {
                    true => 1,
                    false => self.lanes.min(cases.len()).max(1),
                };
                let pool_number = self.sequence_base / 10_000;
                let lanes = (0..count).map(|lane| match &self.plan.options.shared {
                    Some(shared) => (
                        shared.name.clone(),
                        Some(match external {
                            true => shared.external_scope(),
                            false => shared.scope("a", pool_number * 1000 + lane),
                        }),
                    ),
                    None => (format!("{APP_TABLE}_{pool_number}_{lane}"), None),
                });
                futures::future::try_join_all(
                    lanes.map(|(table, scope)| Lane::start(self, settings, Some(table), scope)),
                )
                .await?
            }
            false => vec![Lane::start(self, settings, None, None).await?],
        };
        let per_lane = match needs_app {
            true => 1,
            false => self.lanes,
        };
        let queue = Mutex::new(cases.iter().copied().collect::<VecDeque<_>>());
        let next = || queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
        let played = futures::future::join_all(lanes.iter().map(|lane| {
            let cases = futures::stream::iter(std::iter::from_fn(next));
            cases
                .map(
                    move |(index, case)| async move { (index, self.play(lane, index, case).await) },
                )
                .buffer_unordered(per_lane)
                .collect::<Vec<_>>()
        }))
        .await;
        for lane in lanes {
            lane.stop(self.name).await;
        }
        Ok(played.into_iter().flatten().collect())
    }

    async fn play(&self, lane: &Lane, index: usize, case: &Case) -> CaseResult {
        let unseen;
        let case = match crate::subject::external::is_external(self.name) {
            true => {
                unseen = crate::subject::external::without_call_checks(case);
                &unseen
            }
            false => case,
        };
        let alone = must_run_alone(case, self.backdrop);
        let http = lane.http();
        let sequence = self.sequence_base + index;
        // A handler-level case on a shared table has a prefix of its own; a web app's cases share the app's.
        let scope = lane.scope.clone().or_else(|| {
            self.plan
                .options
                .shared
                .as_ref()
                .map(|shared| shared.scope("c", sequence))
        });
        let result = self
            .gate
            .run(
                self.alone_lock,
                alone,
                table::in_scope(scope, async {
                    (self.on_event)(Event::CaseStarted {
                        id: &case.id,
                        subject: lane.subject.name(),
                        backend: &self.backdrop.backend_name,
                    });
                    run_case(
                        case,
                        lane.subject.as_ref(),
                        self.backdrop,
                        http.as_ref(),
                        &self.plan.options,
                        sequence,
                    )
                    .await
                }),
            )
            .await;
        (self.on_event)(Event::CaseDone(&result));
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(yaml: &str, locking: bool) -> Plan {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.yaml");
        std::fs::write(&path, yaml).unwrap();
        Plan {
            cases: crate::scenario::load_file(&path).unwrap(),
            subjects: vec!["php-http".to_owned()],
            backends: Vec::new(),
            target: BackendTarget::default(),
            options: RunOptions::default(),
            settings: SubjectSettings {
                locking,
                ..SubjectSettings::default()
            },
            ttl_process: TtlProcessChoice::Auto,
        }
    }

    #[test]
    fn passes_group_by_the_whole_app_setting() {
        let plan = plan(
            r#"
group: K
defaults: {level: http, open: null}
cases:
  - {id: plain, steps: [{http: {path: /session}}]}
  - {id: unlocked, given: {app: {locking: false}}, steps: [{http: {path: /session}}]}
  - {id: agent, given: {app: {session: {checkAgent: false}}}, steps: [{http: {path: /session}}]}
  - {id: agent-again, given: {app: {session: {checkAgent: false}, locking: false}}, steps: [{http: {path: /session}}]}
  - {id: gc, given: {app: {ini: {session.gc_probability: 1}}}, steps: [{http: {path: /session}}]}
  - {id: unset, given: {app: {env: {COMANAGE_REGISTRY_DYNAMODB_ENDPOINT: null}}}, steps: [{http: {path: /session}}]}
  - {id: skipped, skip: "not here", given: {app: {session: {timeout: 1}}}, steps: [{http: {path: /session}}]}
  - {id: elsewhere, given: {subjects: [rust-http], app: {session: {timeout: 1}}}, steps: [{http: {path: /session}}]}
"#,
            false,
        );
        let grouped_passes = passes(&plan, "php-http");
        let grouped: Vec<Vec<&str>> = grouped_passes
            .iter()
            .map(|pass| pass.cases.iter().map(|(_, c)| c.id.as_str()).collect())
            .collect();
        assert_eq!(
            grouped,
            [
                vec!["plain", "unlocked", "skipped", "elsewhere"],
                vec!["agent", "agent-again"],
                vec!["gc"],
                vec!["unset"],
            ]
        );
        let settings = grouped_passes[3].settings(&plan.settings);
        assert_eq!(
            settings.app_env.get("COMANAGE_REGISTRY_DYNAMODB_ENDPOINT"),
            Some(&None)
        );
        assert_eq!(
            grouped_passes[2].settings(&plan.settings).app_ini["session.gc_probability"],
            "1"
        );
        assert!(!grouped_passes[1].settings(&plan.settings).locking);
        // Under --locking the plain cases follow the run, the ones that say `locking: false` do not.
        let plan_locking = super::tests::plan(
            "group: K\ndefaults: {level: http, open: null}\ncases:\n  - {id: a, steps: [{http: {path: /}}]}\n  - {id: b, given: {app: {locking: false}}, steps: [{http: {path: /}}]}\n",
            true,
        );
        let p = passes(&plan_locking, "php-http");
        assert_eq!(p.len(), 2);
        assert!(p[0].settings(&plan_locking.settings).locking);
        assert!(!p[1].settings(&plan_locking.settings).locking);
        // A subject that is not a web app runs everything in one pass.
        assert_eq!(passes(&plan, "php").len(), 1);
    }
}
