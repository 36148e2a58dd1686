//! The files the harness needs at run time, carried inside the binary so that an installed `dynamo-harness`
//! works anywhere: the conformance catalogue (`scenarios/conformance`, with the SDK traces it replays from
//! `fixtures/sdk-traces`), the load profiles (`scenarios/load`), the PHP worker (`fixtures/php-worker`), the
//! CakePHP test app (`fixtures/cakephp-app`, without `vendor/` and `tmp/`) and the DynamoSession plugin
//! (`plugin/DynamoSession`), which both PHP subjects load. `build.rs` bundles them.
//!
//! Where a file path is needed they are extracted, once, to `<cache>/assets/<hash>/` (`<cache>` is
//! `$DYNAMO_HARNESS_CACHE_DIR`, else `~/.cache/dynamo-harness`, as for the backends' installs), laid out as in
//! the checkout, so relative references between them (the catalogue's `../../fixtures/sdk-traces/…`, the app's
//! and the worker's `../../plugin/DynamoSession`) hold. The hash is the bundle's content hash, so two builds
//! with different files never share a folder; the folder is written beside it and renamed into place, so a
//! reader never sees half of it.
//!
//! A development build run from its checkout (the executable under the checkout, as `target/debug/…` is) reads
//! the checkout itself, so an edited scenario needs no rebuild. `DYNAMO_HARNESS_ASSETS=embedded` forces the
//! bundled copy, `=checkout` the checkout.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod bundle {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// Chooses where the files are read from: `embedded` or `checkout` (default: the checkout for a development
/// build run from it, else the bundled copy).
pub const ASSETS_ENV: &str = "DYNAMO_HARNESS_ASSETS";
/// The plugin folder the PHP worker and the CakePHP app load; set by the harness to the bundled plugin when
/// the environment does not name one.
pub const PLUGIN_PATH_ENV: &str = "DYNAMO_SESSION_PLUGIN_PATH";

pub const CATALOGUE: &str = "scenarios/conformance";
pub const LOAD_PROFILES: &str = "scenarios/load";
pub const PHP_WORKER: &str = "fixtures/php-worker";
pub const CAKEPHP_APP: &str = "fixtures/cakephp-app";
pub const PLUGIN: &str = "plugin/DynamoSession";

/// Where the files come from in this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The source checkout the binary was built from.
    Checkout(PathBuf),
    /// The bundled copy, extracted to this folder.
    Extracted(PathBuf),
}

impl Source {
    pub fn root(&self) -> &Path {
        match self {
            Source::Checkout(root) | Source::Extracted(root) => root,
        }
    }
}

/// The bundle's content hash, hex.
pub fn hash() -> &'static str {
    bundle::HASH
}

/// The bundled files: path relative to the workspace root, bytes, executable bit.
pub fn files() -> &'static [(&'static str, &'static [u8], bool)] {
    bundle::FILES
}

/// A folder laid out like the checkout holding every bundled file (`scenarios/…`, `fixtures/…`, `plugin/…`).
/// Never fails: if the cache folder cannot be written the files go to the temporary folder, and if that fails
/// too, a warning says why and the path returned does not exist (so the caller's own "cannot read" names it).
pub fn root() -> PathBuf {
    source().root().to_owned()
}

/// Where the files come from in this process (decided, and extracted, once).
pub fn source() -> &'static Source {
    static SOURCE: OnceLock<Source> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let checkout = checkout_root();
        let wanted = std::env::var(ASSETS_ENV).unwrap_or_default();
        let use_checkout = match wanted.trim() {
            "checkout" => true,
            "embedded" => false,
            _ => running_from(&checkout),
        };
        if use_checkout && checkout.join(CATALOGUE).is_dir() {
            return Source::Checkout(checkout);
        }
        Source::Extracted(extract_or_warn())
    })
}

/// `root()/<relative>`: one of the folders above.
pub fn path(relative: &str) -> PathBuf {
    root().join(relative)
}

/// The built-in conformance catalogue.
pub fn catalogue_dir() -> PathBuf {
    path(CATALOGUE)
}

/// The built-in load profiles.
pub fn load_profiles_dir() -> PathBuf {
    path(LOAD_PROFILES)
}

/// The DynamoSession plugin (`DYNAMO_SESSION_PLUGIN_PATH` for the PHP subjects).
pub fn plugin_dir() -> PathBuf {
    path(PLUGIN)
}

/// The checkout the binary was compiled from (it may no longer exist).
pub fn checkout_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness crate sits in the workspace")
        .to_owned()
}

/// Whether the running executable lies under `checkout` (a `cargo build`/`cargo test` binary in its target
/// folder), as opposed to an installed or copied one.
fn running_from(checkout: &Path) -> bool {
    let (Ok(exe), Ok(checkout)) = (
        std::env::current_exe().and_then(std::fs::canonicalize),
        std::fs::canonicalize(checkout),
    ) else {
        return false;
    };
    exe.starts_with(checkout)
}

/// The number of cases in the bundled catalogue (the `cases:` entries of its YAML files).
pub fn catalogue_cases() -> usize {
    let prefix = format!("{CATALOGUE}/");
    files()
        .iter()
        .filter(|(path, _, _)| {
            path.strip_prefix(&prefix).is_some_and(|name| {
                !name.contains('/') && (name.ends_with(".yaml") || name.ends_with(".yml"))
            })
        })
        .filter_map(|(_, bytes, _)| {
            let mut yaml: serde_norway::Value = serde_norway::from_slice(bytes).ok()?;
            yaml.apply_merge().ok()?;
            Some(yaml.get("cases")?.as_sequence()?.len())
        })
        .sum()
}

/// A short hash (FNV-1a, 64 bits, hex) of the catalogue alone: its scenario files and the SDK traces they
/// replay, so two binaries that run the same cases say so whatever else changed between them.
pub fn catalogue_hash() -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut write = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for (path, bytes, _) in files() {
        if path.starts_with(&format!("{CATALOGUE}/")) || path.starts_with("fixtures/sdk-traces/") {
            write(path.as_bytes());
            write(&(bytes.len() as u64).to_le_bytes());
            write(bytes);
        }
    }
    format!("{hash:016x}")[..12].to_owned()
}

/// The version line: the crate's version and the catalogue it carries, e.g.
/// `0.1.0 (catalogue: 185 cases, 3f2a9c1e7b04; bundled files 9d0c41aa27e3)`.
pub fn version() -> String {
    format!(
        "{} (catalogue: {} cases, {}; bundled files {})",
        env!("CARGO_PKG_VERSION"),
        catalogue_cases(),
        catalogue_hash(),
        &hash()[..12]
    )
}

/// Sets `DYNAMO_SESSION_PLUGIN_PATH` to the bundled plugin unless the environment names one.
///
/// # Safety
/// Changes the process environment: call it while no other thread runs (before the runtime starts).
pub unsafe fn export_plugin_path() {
    if std::env::var_os(PLUGIN_PATH_ENV).is_none_or(|v| v.is_empty()) {
        // SAFETY: the caller guarantees that no other thread reads or writes the environment.
        unsafe { std::env::set_var(PLUGIN_PATH_ENV, plugin_dir()) };
    }
}

fn extract_or_warn() -> PathBuf {
    let cache = dynamo_backends::provision::cache_root()
        .map(|root| root.join("assets"))
        .map_err(|e| e.to_string());
    let mut problems = Vec::new();
    let folders = [
        cache,
        Ok(std::env::temp_dir().join("dynamo-harness-assets")),
    ];
    for folder in folders {
        match folder.and_then(|dir| extract_to(&dir).map_err(|e| format!("{}: {e}", dir.display())))
        {
            Ok(root) => return root,
            Err(problem) => problems.push(problem),
        }
    }
    let fallback = std::env::temp_dir()
        .join("dynamo-harness-assets")
        .join(short_hash());
    eprintln!(
        "warning: the built-in files (catalogue, load profiles, PHP worker and app) could not be extracted: {}",
        problems.join("; ")
    );
    fallback
}

fn short_hash() -> &'static str {
    &hash()[..16]
}

/// The name of the marker written last into a complete extraction.
const COMPLETE: &str = ".complete";

/// Extracts the bundle to `<parent>/<hash>` unless a complete copy is there; returns that folder.
pub fn extract_to(parent: &Path) -> std::io::Result<PathBuf> {
    let target = parent.join(short_hash());
    if target.join(COMPLETE).is_file() {
        return Ok(target);
    }
    std::fs::create_dir_all(parent)?;
    let staging = tempfile_dir(parent)?;
    let written = write_all(&staging);
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    match std::fs::rename(&staging, &target) {
        Ok(()) => Ok(target),
        Err(_) if target.join(COMPLETE).is_file() => {
            // Another process extracted the same bundle meanwhile.
            let _ = std::fs::remove_dir_all(&staging);
            Ok(target)
        }
        Err(_) => {
            // A leftover without its marker (an extraction interrupted before this scheme, or files removed by
            // hand): replace it.
            let _ = std::fs::remove_dir_all(&target);
            let renamed = std::fs::rename(&staging, &target);
            if renamed.is_err() {
                let _ = std::fs::remove_dir_all(&staging);
            }
            if target.join(COMPLETE).is_file() {
                return Ok(target);
            }
            renamed.map(|()| target)
        }
    }
}

/// A fresh, uniquely named folder in `parent` for a staged extraction.
fn tempfile_dir(parent: &Path) -> std::io::Result<PathBuf> {
    let pid = std::process::id();
    for attempt in 0u32..100 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = parent.join(format!(".staging-{}-{pid}-{nanos}-{attempt}", short_hash()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free staging folder name"))
}

fn write_all(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    for (relative, bytes, executable) in files() {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = std::fs::File::create(&path)?;
        file.write_all(bytes)?;
        let mode = if *executable { 0o755 } else { 0o644 };
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    std::fs::write(dir.join(COMPLETE), hash())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_holds_every_folder_and_no_vendor_tree() {
        for folder in [
            CATALOGUE,
            LOAD_PROFILES,
            PHP_WORKER,
            CAKEPHP_APP,
            PLUGIN,
            "fixtures/sdk-traces",
        ] {
            assert!(
                files()
                    .iter()
                    .any(|(p, _, _)| p.starts_with(&format!("{folder}/"))),
                "{folder} is not bundled"
            );
        }
        assert!(
            files()
                .iter()
                .any(|(p, _, _)| *p == "fixtures/php-worker/handler_worker.php")
        );
        assert!(
            files().iter().all(|(p, _, _)| !p
                .split('/')
                .any(|part| matches!(part, "vendor" | "Vendor" | "tmp"))),
            "a vendor or tmp folder was bundled"
        );
        assert_eq!(hash().len(), 32);
    }

    #[test]
    fn the_case_count_matches_the_loaded_catalogue() {
        let loaded = crate::scenario::load_dirs(&[checkout_root().join(CATALOGUE)]).unwrap();
        assert_eq!(catalogue_cases(), loaded.len());
        let version = version();
        assert!(
            version.contains(&format!("{} cases, {}", loaded.len(), catalogue_hash())),
            "{version}"
        );
    }

    #[test]
    fn extraction_is_complete_identical_and_reused() {
        let parent = tempfile::tempdir().unwrap();
        let root = extract_to(parent.path()).unwrap();
        for (relative, bytes, _) in files() {
            assert_eq!(
                std::fs::read(root.join(relative)).unwrap(),
                *bytes,
                "{relative}"
            );
        }
        // A second extraction finds the first.
        let marker = root.join(COMPLETE);
        let before = std::fs::metadata(&marker).unwrap().modified().unwrap();
        assert_eq!(extract_to(parent.path()).unwrap(), root);
        assert_eq!(
            std::fs::metadata(&marker).unwrap().modified().unwrap(),
            before
        );
        // Only the extraction is left: no staging folder.
        let entries: Vec<_> = std::fs::read_dir(parent.path()).unwrap().collect();
        assert_eq!(entries.len(), 1);
        // An incomplete leftover is replaced.
        std::fs::remove_file(&marker).unwrap();
        std::fs::remove_file(root.join(PHP_WORKER).join("handler_worker.php")).unwrap();
        assert_eq!(extract_to(parent.path()).unwrap(), root);
        assert!(root.join(PHP_WORKER).join("handler_worker.php").is_file());
        assert!(marker.is_file());
    }

    #[test]
    fn the_extracted_catalogue_loads_and_finds_its_traces() {
        let parent = tempfile::tempdir().unwrap();
        let root = extract_to(parent.path()).unwrap();
        let cases = crate::scenario::load_dirs(&[root.join(CATALOGUE)]).unwrap();
        assert_eq!(cases.len(), catalogue_cases());
    }
}
