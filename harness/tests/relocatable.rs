//! An installed `dynamo-harness` works without the checkout it was built from: it carries its catalogue, load
//! profiles, PHP worker, CakePHP app and plugin, and extracts them to its cache folder.
//!
//! The binary is placed in `<tmp>/root/bin` and run from an empty folder, with HOME and the cache folder in the
//! temporary folder: `--version`, `conform` (the built-in catalogue on the default subject and backend) and
//! `load --duration 1` with a tiny profile of the test's own.
//!
//! How the binary gets there: by default a copy of the one cargo built for this test, which takes a second. A
//! copied binary outside the checkout runs exactly as an installed one does: it reads the checkout only when
//! the executable lies under it (`src/assets.rs`). `cargo install --path harness --root <tmp> --offline --debug`
//! from a copy of the checkout, which is then removed, is what `DYNAMO_HARNESS_TEST_INSTALL=1` does instead:
//! it compiles every workspace crate again from the copy's path (minutes on two cores, so not by default;
//! its target folder is kept under target/ for the next run).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

const TINY_PROFILE: &str = r#"
description: one user for a second, the smallest load that exercises the whole path
users: 1
duration_s: 1
max_requests: 200
ceiling: {warmup_s: 0, duration_s: 0.2, concurrency: 1, max_pairs: 50}
scenarios:
  - kind: browse
    mix: {read: 3, write: 1}
"#;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Copies the checkout's sources (no target/, no .git, no vendor trees) to `to`.
fn copy_checkout(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if matches!(
            name.as_ref(),
            "target" | ".git" | "vendor" | "Vendor" | "node_modules" | "reports"
        ) {
            continue;
        }
        let path = entry.path();
        let file_type = entry.file_type().unwrap();
        if file_type.is_dir() {
            copy_checkout(&path, &to.join(&*name));
        } else if file_type.is_file() {
            std::fs::copy(&path, to.join(&*name)).unwrap();
        }
    }
}

/// The binary, installed under `root/bin`: copied, or built with `cargo install` from a removed copy.
fn install(tmp: &Path) -> PathBuf {
    let root = tmp.join("root");
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    if std::env::var("DYNAMO_HARNESS_TEST_INSTALL").as_deref() == Ok("1") {
        let checkout = tmp.join("checkout");
        copy_checkout(&workspace(), &checkout);
        let status = Command::new(env!("CARGO"))
            .args(["install", "--path"])
            .arg(checkout.join("harness"))
            .arg("--root")
            .arg(&root)
            .args(["--offline", "--debug", "--locked"])
            .env(
                "CARGO_TARGET_DIR",
                workspace().join("target/relocatable-install"),
            )
            .status()
            .unwrap();
        assert!(status.success(), "cargo install failed");
        std::fs::remove_dir_all(&checkout).unwrap();
        assert!(!checkout.exists());
    } else {
        std::fs::copy(
            env!("CARGO_BIN_EXE_dynamo-harness"),
            bin.join("dynamo-harness"),
        )
        .unwrap();
    }
    bin.join("dynamo-harness")
}

fn run(binary: &Path, cwd: &Path, home: &Path, args: &[&str]) -> Output {
    let started = Instant::now();
    let output = Command::new(binary)
        .args(args)
        .current_dir(cwd)
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env(
            "DYNAMO_HARNESS_CACHE_DIR",
            home.join(".cache/dynamo-harness"),
        )
        // As an operator's machine would be: nothing pointing back at the checkout.
        .env_remove("DYNAMO_HARNESS_ASSETS")
        .env_remove("DYNAMO_SESSION_PLUGIN_PATH")
        .env_remove("DYNAMO_SESSION_VENDOR")
        .env_remove("COMANAGE_REGISTRY_DYNAMODB_ENDPOINT")
        .output()
        .unwrap();
    eprintln!(
        "dynamo-harness {} ({:.1} s): {}\n{}{}",
        args.join(" "),
        started.elapsed().as_secs_f64(),
        output.status,
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .map(|l| format!("  {l}\n"))
            .collect::<String>(),
        String::from_utf8_lossy(&output.stderr)
            .lines()
            .filter(|l| l.starts_with("error") || l.starts_with("warning"))
            .map(|l| format!("  {l}\n"))
            .collect::<String>(),
    );
    output
}

#[test]
fn an_installed_binary_runs_without_its_checkout() {
    let tmp = tempfile::tempdir().unwrap();
    let binary = install(tmp.path());
    let home = tmp.path().join("home");
    let cwd = tmp.path().join("empty");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&cwd).unwrap();

    let version = run(&binary, &cwd, &home, &["--version"]);
    assert!(version.status.success());
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    let cases = dynamo_harness::assets::catalogue_cases();
    assert!(
        version.contains(&format!("{cases} cases"))
            && version.contains(&dynamo_harness::assets::catalogue_hash())
            && version.contains(&dynamo_harness::assets::hash()[..12]),
        "{version}"
    );

    let conform = run(&binary, &cwd, &home, &["conform"]);
    let stdout = String::from_utf8_lossy(&conform.stdout);
    assert_eq!(
        conform.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&conform.stderr)
    );
    let closing = stdout
        .lines()
        .find(|l| l.contains(" passed, ") && l.contains(" failed"))
        .unwrap_or_else(|| panic!("no summary line in {stdout}"));
    let total: usize = closing
        .split(", ")
        .map(|part| {
            part.split_whitespace()
                .next()
                .unwrap()
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert_eq!(total, cases, "{closing}");
    assert!(cwd.join("reports/conform/results.json").is_file());

    // The files came out of the binary, into the cache folder under HOME, and nowhere else.
    let extracted = home
        .join(".cache/dynamo-harness/assets")
        .join(&dynamo_harness::assets::hash()[..16]);
    for folder in [
        "scenarios/conformance",
        "scenarios/load",
        "fixtures/php-worker",
        "fixtures/cakephp-app",
        "plugin/DynamoSession",
    ] {
        assert!(
            extracted.join(folder).is_dir(),
            "{folder} was not extracted"
        );
    }
    assert!(
        extracted
            .join("fixtures/php-worker/handler_worker.php")
            .is_file()
    );
    assert!(!extracted.join("fixtures/cakephp-app/vendor").exists());

    std::fs::write(cwd.join("tiny.yaml"), TINY_PROFILE).unwrap();
    let load = run(
        &binary,
        &cwd,
        &home,
        &[
            "load",
            "--subject",
            "rust-http",
            "--profile",
            "tiny.yaml",
            "--duration",
            "1",
        ],
    );
    assert_eq!(
        load.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&load.stdout),
        String::from_utf8_lossy(&load.stderr)
    );
    assert!(cwd.join("reports/load/tiny/summary.json").is_file());

    // A built-in profile is found by name too (from the extracted copy).
    let listed = run(
        &binary,
        &cwd,
        &home,
        &[
            "load",
            "--subject",
            "rust-http",
            "--profile",
            "no-such-profile",
        ],
    );
    let stderr = String::from_utf8_lossy(&listed.stderr);
    assert!(
        stderr.contains("browse") && stderr.contains("hot-session"),
        "{stderr}"
    );
}
