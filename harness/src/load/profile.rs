//! Load profiles: one YAML file per profile under `scenarios/load/` (format in its README), selected by name.
//!
//! A profile says how many users, how fast they start, for how long (and at most how many iterations), which
//! scenarios they run with which weights, and whether the web apps run in locking mode. It is data, so an
//! operator can add a profile without touching Rust.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The profiles shipped with the harness (`scenarios/load` at the top of the workspace).
pub fn builtin_dir() -> PathBuf {
    crate::assets::load_profiles_dir()
}

/// One load profile, as read from `<name>.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The file name without `.yaml`; filled in when the file is read.
    #[serde(default)]
    pub name: String,
    pub description: String,
    /// Concurrent goose users.
    pub users: usize,
    /// Users started per second (goose `--increase-rate`); default: all within a second.
    #[serde(default)]
    pub hatch_rate: Option<f64>,
    /// Seconds of full load once every user has started (goose `--run-time`).
    pub duration_s: u64,
    /// Each user stops after this many passes over its scenario. With it the run ends when every user is done,
    /// and `duration_s` stays the hard time bound.
    #[serde(default)]
    pub iterations: Option<usize>,
    /// The run is stopped once this many HTTP requests were made, whatever the time.
    #[serde(default = "default_max_requests")]
    pub max_requests: u64,
    /// Whether the web apps use the SDK's locking connection; `both` runs every point twice.
    #[serde(default)]
    pub locking: LockingMode,
    /// The user counts `compare` sweeps when `--users` is not given.
    #[serde(default = "default_compare_users")]
    pub compare_users: Vec<usize>,
    /// Expired sessions seeded straight into the table before each run, so a garbage collection has work.
    #[serde(default)]
    pub seed_expired: usize,
    /// How the backend's raw ceiling is measured.
    #[serde(default)]
    pub ceiling: CeilingSpec,
    pub scenarios: Vec<ScenarioSpec>,
}

/// One goose scenario of a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    pub kind: ScenarioKind,
    /// Share of the users that run this scenario (goose scenario weight).
    #[serde(default = "one")]
    pub weight: usize,
    /// Transaction weights by name; the names each kind knows are in [`ScenarioKind::transactions`]. A missing
    /// name keeps its default weight; 0 leaves the transaction out.
    #[serde(default)]
    pub mix: BTreeMap<String, usize>,
    /// Pause between two transactions of a user, `[min, max]` milliseconds; default none (a closed loop).
    #[serde(default)]
    pub wait_ms: Option<[u64; 2]>,
}

/// What a scenario does (docs/seams.md HTTP contract for the requests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScenarioKind {
    /// Log in once (`POST /session/set`), then mostly `GET /session`, now and then a small write.
    Browse,
    /// A new session every iteration: log in, renew, read, log out (destroy), forget the cookie.
    LoginChurn,
    /// Every user of the scenario shares one session cookie and increments one counter.
    HotSession,
    /// `POST /gc` (the handler's `garbageCollect`), paced by `wait_ms`.
    Gc,
}

impl ScenarioKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScenarioKind::Browse => "browse",
            ScenarioKind::LoginChurn => "login-churn",
            ScenarioKind::HotSession => "hot-session",
            ScenarioKind::Gc => "gc",
        }
    }

    /// The transactions of the kind with their default weights, in the order a pass runs them. For
    /// `login-churn` the weight is how many times the step repeats within one pass.
    pub fn transactions(self) -> &'static [(&'static str, usize)] {
        match self {
            ScenarioKind::Browse => &[("read", 20), ("write", 1)],
            ScenarioKind::LoginChurn => &[("login", 1), ("renew", 1), ("read", 1), ("logout", 1)],
            ScenarioKind::HotSession => &[("increment", 1)],
            ScenarioKind::Gc => &[("gc", 1)],
        }
    }
}

/// Locking mode of the web apps for a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LockingMode {
    #[default]
    Off,
    On,
    /// One run without locking, then one with.
    Both,
}

impl LockingMode {
    /// The `locking` settings to run, in order.
    pub fn variants(self) -> Vec<bool> {
        match self {
            LockingMode::Off => vec![false],
            LockingMode::On => vec![true],
            LockingMode::Both => vec![false, true],
        }
    }
}

/// The raw ceiling: GetItem+UpdateItem pairs straight to the backend, `concurrency` at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CeilingSpec {
    /// Untimed pairs first: a freshly started dynalite (node) runs at half speed until its JIT has warmed up.
    pub warmup_s: f64,
    pub duration_s: f64,
    pub concurrency: usize,
    /// Hard bound on the number of pairs, whatever the time.
    pub max_pairs: u64,
}

impl Default for CeilingSpec {
    fn default() -> Self {
        CeilingSpec {
            warmup_s: 2.0,
            duration_s: 3.0,
            concurrency: 8,
            max_pairs: 1_000_000,
        }
    }
}

fn one() -> usize {
    1
}

fn default_max_requests() -> u64 {
    5_000_000
}

fn default_compare_users() -> Vec<usize> {
    vec![1, 2, 4, 8]
}

/// What can go wrong finding or reading a profile.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("no load profile named `{name}`; the profiles are: {known}")]
    Unknown { name: String, known: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a valid profile: {source}")]
    Yaml {
        path: PathBuf,
        source: serde_norway::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Profile {
    /// How long starting `users` takes at the profile's hatch rate.
    pub fn ramp_up(&self, users: usize) -> Duration {
        let rate = self.hatch_rate_for(users);
        Duration::from_secs_f64(users as f64 / rate)
    }

    /// The hatch rate for a run with `users` users: the profile's, or all users within a second.
    pub fn hatch_rate_for(&self, users: usize) -> f64 {
        self.hatch_rate.unwrap_or(users.max(1) as f64)
    }

    /// Whether any scenario is of this kind.
    pub fn has(&self, kind: ScenarioKind) -> bool {
        self.scenarios.iter().any(|s| s.kind == kind)
    }

    /// The effective transaction weights of a scenario: defaults, overridden by `mix`.
    pub fn weights(spec: &ScenarioSpec) -> Vec<(&'static str, usize)> {
        spec.kind
            .transactions()
            .iter()
            .map(|&(name, weight)| (name, spec.mix.get(name).copied().unwrap_or(weight)))
            .collect()
    }

    fn validate(&self) -> Result<(), String> {
        if self.users == 0 {
            return Err("users must be at least 1".to_owned());
        }
        if self.duration_s == 0 {
            return Err("duration_s must be at least 1".to_owned());
        }
        if self.hatch_rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
            return Err("hatch_rate must be positive".to_owned());
        }
        if self.iterations == Some(0) {
            return Err("iterations must be at least 1 (leave it out for no cap)".to_owned());
        }
        if self.compare_users.contains(&0) {
            return Err("compare_users must all be at least 1".to_owned());
        }
        if self.scenarios.is_empty() {
            return Err("a profile needs at least one scenario".to_owned());
        }
        let ceiling = &self.ceiling;
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if ceiling.concurrency == 0
            || !positive(ceiling.duration_s)
            || !(positive(ceiling.warmup_s) || ceiling.warmup_s == 0.0)
        {
            return Err(
                "ceiling needs a positive duration_s and concurrency, and warmup_s of 0 or more"
                    .to_owned(),
            );
        }
        for spec in &self.scenarios {
            let kind = spec.kind.as_str();
            if spec.weight == 0 {
                return Err(format!("scenario {kind}: weight must be at least 1"));
            }
            let known = spec.kind.transactions();
            for name in spec.mix.keys() {
                if !known.iter().any(|(k, _)| k == name) {
                    let names: Vec<&str> = known.iter().map(|(k, _)| *k).collect();
                    return Err(format!(
                        "scenario {kind}: unknown transaction `{name}` in mix (known: {})",
                        names.join(", ")
                    ));
                }
            }
            if Self::weights(spec).iter().all(|(_, w)| *w == 0) {
                return Err(format!("scenario {kind}: every transaction has weight 0"));
            }
            if let Some([min, max]) = spec.wait_ms
                && min > max
            {
                return Err(format!("scenario {kind}: wait_ms [min, max] has min > max"));
            }
        }
        Ok(())
    }
}

/// Reads one profile file; its name is the file stem.
pub fn load_file(path: &Path) -> Result<Profile, ProfileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut profile: Profile =
        serde_norway::from_str(&text).map_err(|source| ProfileError::Yaml {
            path: path.to_owned(),
            source,
        })?;
    profile.name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_owned();
    profile
        .validate()
        .map_err(|message| ProfileError::Invalid {
            path: path.to_owned(),
            message,
        })?;
    Ok(profile)
}

/// The profile files of the folders, by name (a later folder's file of the same name wins).
pub fn list(dirs: &[PathBuf]) -> Result<BTreeMap<String, PathBuf>, ProfileError> {
    let mut found = BTreeMap::new();
    for dir in dirs {
        let entries = std::fs::read_dir(dir).map_err(|source| ProfileError::Io {
            path: dir.clone(),
            source,
        })?;
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
            {
                found.insert(stem.to_owned(), path);
            }
        }
    }
    Ok(found)
}

/// Finds a profile by name in the folders, or reads it from a path (anything naming an existing file).
pub fn find(name_or_path: &str, dirs: &[PathBuf]) -> Result<Profile, ProfileError> {
    let as_path = Path::new(name_or_path);
    if as_path.is_file() {
        return load_file(as_path);
    }
    let known = list(dirs)?;
    match known.get(name_or_path) {
        Some(path) => load_file(path),
        None => Err(ProfileError::Unknown {
            name: name_or_path.to_owned(),
            known: known.keys().cloned().collect::<Vec<_>>().join(", "),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_profiles_parse_and_validate() {
        let dirs = [builtin_dir()];
        let known = list(&dirs).unwrap();
        for name in ["browse", "login-churn", "hot-session", "gc-sweep"] {
            let profile = find(name, &dirs).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(profile.name, name);
            assert!(known.contains_key(name));
        }
    }

    #[test]
    fn unknown_mix_names_are_refused() {
        let yaml = "description: x\nusers: 1\nduration_s: 1\nscenarios:\n  - kind: browse\n    mix: {reed: 1}\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.yaml");
        std::fs::write(&path, yaml).unwrap();
        let error = load_file(&path).unwrap_err().to_string();
        assert!(error.contains("unknown transaction `reed`"), "{error}");
    }

    #[test]
    fn weights_default_and_override() {
        let spec = ScenarioSpec {
            kind: ScenarioKind::Browse,
            weight: 1,
            mix: BTreeMap::from([("write".to_owned(), 0)]),
            wait_ms: None,
        };
        assert_eq!(Profile::weights(&spec), vec![("read", 20), ("write", 0)]);
    }
}
