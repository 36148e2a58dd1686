//! The conformance catalogue as `cargo test` trials, for a service's own test suite.
//!
//! A crate that embeds `dynamo-session` (or any handler the harness can drive through [`Subject`]) plays every
//! handler-level case of the YAML catalogue against its handler from its own `cargo test`: one test per case,
//! named by the case id, on an embedded dynoxide backend. In `Cargo.toml`:
//!
//! ```toml
//! [dev-dependencies]
//! dynamo-harness = { path = "..." }
//!
//! [[test]]
//! name = "catalogue"
//! harness = false
//! ```
//!
//! and `tests/catalogue.rs`:
//!
//! ```no_run
//! dynamo_harness::harness!(dynamo_harness::subject::rust::RustSubject::new());
//! ```
//!
//! `cargo test --test catalogue` then runs the built-in catalogue; `-- C12` runs one case, `-- --exact C12`
//! exactly that one, `-- --list` lists them, `-- --ignored` does nothing useful (skipped cases say why at run
//! time). A failure prints the case's `file:line`, who is to blame and the mismatch the runner found, in the
//! form `dynamo-harness conform` reports. Your own folders, alone or beside the built-in one, and the slow cases:
//!
//! ```no_run
//! use dynamo_harness::catalogue::Catalogue;
//! use dynamo_harness::subject::rust::RustSubject;
//!
//! dynamo_harness::harness!(
//!     RustSubject::new(),
//!     Catalogue::builtin().with_dir("tests/scenarios").slow(true)
//! );
//! ```
//!
//! HTTP-level cases need a web app that `dynamo-harness conform --subjects ...` starts per case group; here
//! they are reported as ignored, with that reason.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use dynamo_backends::{BackendKind, BackendOptions};
use libtest_mimic::{Arguments, Completion, Failed, Trial};

use crate::conform::plan::must_run_alone;
use crate::conform::result::{Blame, CaseResult, Outcome};
use crate::conform::runner::{RunOptions, run_case, skip_reason};
use crate::environment::{Backdrop, TtlProcessChoice, backdrop_of};
use crate::scenario::{self, Case, LoadError};
use crate::subject::{Level, Subject};

/// Defines the `main` of a `harness = false` test target that plays the catalogue against `subject` (any
/// [`Subject`]): `harness!(subject)` plays the built-in catalogue, `harness!(subject, catalogue)` a
/// [`Catalogue`] of your choosing. See the [module documentation](crate::catalogue).
#[macro_export]
macro_rules! harness {
    ($subject:expr $(,)?) => {
        $crate::harness!($subject, $crate::catalogue::Catalogue::builtin());
    };
    ($subject:expr, $catalogue:expr $(,)?) => {
        fn main() -> ::std::process::ExitCode {
            $crate::catalogue::run_as_tests($subject, $catalogue)
        }
    };
}

/// Which scenario folders to play, and how.
#[derive(Debug, Clone)]
pub struct Catalogue {
    dirs: Vec<PathBuf>,
    options: RunOptions,
    backend: BackendKind,
}

impl Catalogue {
    /// The catalogue shipped with the harness (`scenarios/conformance`).
    pub fn builtin() -> Self {
        Self::dir(scenario::builtin_dir())
    }

    /// Only the scenario files of `dir` (`*.yaml`, `*.yml`), in the catalogue's format.
    pub fn dir(dir: impl Into<PathBuf>) -> Self {
        Catalogue {
            dirs: vec![dir.into()],
            options: RunOptions::default(),
            backend: BackendKind::Dynoxide,
        }
    }

    /// Adds a folder; case ids must stay unique across all of them. A relative path is taken from the
    /// directory `cargo test` runs the target in: the package's root.
    pub fn with_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dirs.push(dir.into());
        self
    }

    /// Also run the cases marked `slow` (the SDK's full retry backoff: minutes); by default they are ignored.
    pub fn slow(mut self, slow: bool) -> Self {
        self.options.slow = slow;
        self
    }

    /// The backend the cases run on; default the embedded dynoxide, which needs nothing installed.
    pub fn backend(mut self, kind: BackendKind) -> Self {
        self.backend = kind;
        self
    }

    /// The folders, in the order they load.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }
}

/// Why the catalogue could not be turned into trials.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("the catalogue does not load: {0}")]
    Load(#[from] LoadError),
    #[error("cannot start a Tokio runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("the {kind} backend does not start: {message}")]
    Backend { kind: BackendKind, message: String },
}

/// The trials of a catalogue, with the backend and runtime they run on (dropping them stops both).
pub struct Trials {
    pub trials: Vec<Trial>,
    backend: Box<dyn dynamo_backends::Backend>,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl Trials {
    /// Runs the trials as libtest would with `args`, then stops the backend.
    pub fn run(self, args: &Arguments) -> libtest_mimic::Conclusion {
        let Trials {
            trials,
            backend,
            runtime,
        } = self;
        let conclusion = libtest_mimic::run(args, trials);
        drop(backend);
        drop(runtime);
        conclusion
    }
}

/// Plays `catalogue` against `subject` as a libtest-compatible test binary: reads the command line
/// (`cargo test`'s filter, `--exact`, `--list`, `--test-threads`, ...), runs one trial per case and returns
/// the exit code. What [`harness!`](crate::harness) expands to.
pub fn run_as_tests<S: Subject + 'static>(subject: S, catalogue: Catalogue) -> ExitCode {
    let args = Arguments::from_args();
    match trials(subject, &catalogue) {
        Ok(trials) => trials.run(&args).exit_code(),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(101)
        }
    }
}

/// One trial per case of `catalogue` for `subject`, in catalogue order: named by the case id, of kind the
/// case's group. Skipped cases are ignored at run time with the reason; cases that must run alone do.
pub fn trials<S: Subject + 'static>(
    subject: S,
    catalogue: &Catalogue,
) -> Result<Trials, CatalogueError> {
    let cases = scenario::load_dirs(&catalogue.dirs)?;
    let runtime = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(CatalogueError::Runtime)?,
    );
    let backend_error = |error: &dyn std::fmt::Display| CatalogueError::Backend {
        kind: catalogue.backend,
        message: format!("{error:#}"),
    };
    // One backend for the whole binary; every handler-level case makes its own table and proxy, so trials run
    // in parallel (a case that must run alone takes `ALONE` exclusively, as `conform --jobs` does).
    let backend = runtime
        .block_on(dynamo_backends::start(&BackendOptions {
            kind: catalogue.backend,
            ..BackendOptions::default()
        }))
        .map_err(|e| backend_error(&e))?;
    let backdrop = Arc::new(
        runtime
            .block_on(backdrop_of(backend.as_ref(), TtlProcessChoice::Auto))
            .map_err(|e| backend_error(&format_args!("{e:#}")))?,
    );
    let subject: Arc<dyn Subject> = Arc::new(subject);
    let trials = cases
        .into_iter()
        .enumerate()
        .map(|(sequence, case)| {
            trial(
                case,
                sequence,
                &runtime,
                &backdrop,
                &subject,
                &catalogue.options,
            )
        })
        .collect();
    Ok(Trials {
        trials,
        backend,
        runtime,
    })
}

/// Cases take it shared; one that must run alone takes it exclusively.
static ALONE: RwLock<()> = RwLock::new(());

/// Held for the length of a trial.
enum Guard {
    Alone(#[allow(dead_code)] RwLockWriteGuard<'static, ()>),
    Shared(#[allow(dead_code)] RwLockReadGuard<'static, ()>),
}

fn trial(
    case: Case,
    sequence: usize,
    runtime: &Arc<tokio::runtime::Runtime>,
    backdrop: &Arc<Backdrop>,
    subject: &Arc<dyn Subject>,
    options: &RunOptions,
) -> Trial {
    let name = case.id.clone();
    let kind = case.group.clone();
    let slow = (case.slow && !options.slow && case.skip.is_none()).then(|| {
        "a slow case (the SDK's full retry backoff): `Catalogue::slow(true)` plays it".to_owned()
    });
    let skip = slow
        .or_else(|| skip_reason(&case, subject.as_ref(), options))
        .or_else(|| {
            // The web apps are started per distinct `given.app` by the conform command's plan, not here.
            (case.level == Level::Http).then(|| {
                format!(
                    "an HTTP-level case: run it with `dynamo-harness conform --subjects {}`",
                    subject.name()
                )
            })
        });
    if let Some(reason) = skip {
        return Trial::ignorable_test(name, move || Ok(Completion::ignored_with(reason)))
            .with_kind(kind);
    }
    let runtime = Arc::clone(runtime);
    let backdrop = Arc::clone(backdrop);
    let subject = Arc::clone(subject);
    let options = options.clone();
    Trial::ignorable_test(name, move || {
        let _guard = match must_run_alone(&case, &backdrop) {
            true => Guard::Alone(ALONE.write().unwrap_or_else(|p| p.into_inner())),
            false => Guard::Shared(ALONE.read().unwrap_or_else(|p| p.into_inner())),
        };
        let result = runtime.block_on(run_case(
            &case,
            subject.as_ref(),
            &backdrop,
            None,
            &options,
            sequence,
        ));
        match result.outcome {
            Outcome::Pass => Ok(Completion::Completed),
            Outcome::Skip => Ok(Completion::ignored_with(
                result.reason.unwrap_or_else(|| "skipped".to_owned()),
            )),
            Outcome::Fail(blame) => Err(Failed::from(failure_message(&case, blame, &result))),
        }
    })
    .with_kind(kind)
}

/// What a failed trial prints: where the case is, whom the failure is put down to, and the runner's explanation
/// (which step or call, which field, expected and got).
pub fn failure_message(case: &Case, blame: Blame, result: &CaseResult) -> String {
    let mut message = format!(
        "{}:{}: case {} ({}) failed for subject {} on {}",
        case.source.display(),
        case_line(&case.source, &case.id).unwrap_or(1),
        case.id,
        case.title,
        result.subject,
        result.backend,
    );
    message.push_str(match blame {
        Blame::Handler => {
            "\nput down to the handler: it behaved differently from the SDK's semantics"
        }
        Blame::Backend => "\nput down to the backend: it lacks a capability the case depends on",
        Blame::Harness => "\nput down to the harness: it could not run the case",
    });
    if let Some(reason) = &result.reason {
        message.push_str(&format!("\n{reason}"));
    }
    if let Some(diff) = crate::report::diff_text(result) {
        message.push_str(&format!("\n{diff}"));
    }
    message
}

/// The 1-based line of case `id`'s `id:` key in `path`, if it can be found.
pub fn case_line(path: &Path, id: &str) -> Option<usize> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            let line = line.strip_prefix("- ").unwrap_or(line).trim_start();
            line.strip_prefix("id:").is_some_and(|value| {
                let value = value.split(" #").next().unwrap_or(value).trim();
                value.trim_matches(|c| c == '"' || c == '\'') == id
            })
        })
        .map(|index| index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_is_found_by_its_id_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.yaml");
        std::fs::write(
            &path,
            "group: B\ncases:\n  - id: C1\n    title: a\n  - id: \"C12\"  # quoted\n    title: b\n",
        )
        .unwrap();
        assert_eq!(case_line(&path, "C1"), Some(3));
        assert_eq!(case_line(&path, "C12"), Some(5));
        assert_eq!(case_line(&path, "C2"), None);
    }

    #[test]
    fn a_failure_names_the_file_line_blame_and_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.yaml");
        std::fs::write(
            &path,
            "group: B\ncases:\n  - id: C10\n    title: t\n    steps:\n      - read: {id: a}\n",
        )
        .unwrap();
        let case = &scenario::load_file(&path).unwrap()[0];
        let mut result = CaseResult::skipped(case, "rust", "dynoxide", String::new());
        result.outcome = Outcome::Fail(Blame::Handler);
        result.mismatches = vec![crate::conform::mismatch::Mismatch {
            step: Some("1:read".to_owned()),
            aspect: crate::conform::mismatch::Aspect::ReturnValue,
            detail: "expected \"\", got \"x\"".to_owned(),
        }];
        let message = failure_message(case, Blame::Handler, &result);
        let first = format!(
            "{}:3: case C10 (t) failed for subject rust on dynoxide",
            path.display()
        );
        assert!(message.starts_with(&first), "{message}");
        assert!(message.contains("put down to the handler"), "{message}");
        assert!(
            message.ends_with("\nstep 1:read: return value: expected \"\", got \"x\""),
            "{message}"
        );
    }
}
