//! dynalite from npm, installed without `npx` so that the server is one `node` process we own.

use std::path::PathBuf;

use crate::process::find_on_path;
use crate::{BackendError, Progress, versions};

/// Exits the node process when its stdin reaches EOF, i.e. when the harness that holds the other end of the
/// pipe is gone for whatever reason. Loaded with `node --require` before dynalite's own cli.js.
const STDIN_WATCHDOG_JS: &str = "\
// Written by dynamo-backends: exit when the harness (the holder of our stdin pipe) goes away.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
";

/// What is needed to start dynalite: the node binary, the package folder, the watchdog script.
pub(crate) struct DynaliteInstall {
    pub node: PathBuf,
    pub cli_js: PathBuf,
    pub watchdog_js: PathBuf,
}

pub(crate) fn missing(program: &'static str) -> BackendError {
    BackendError::MissingProgram {
        program,
        backend: "dynalite",
        install: "nodejs npm",
        alternative: "`--backend moto` (needs python3 and python3-venv) or `--backend container` (needs Docker)",
    }
}

/// Installs dynalite at the pinned version (once per cache) and returns how to run it.
pub(crate) async fn ensure_dynalite(progress: &Progress) -> Result<DynaliteInstall, BackendError> {
    let node = find_on_path("node").ok_or_else(|| missing("node"))?;
    let version = versions::dynalite();
    let folder = super::ensure_installed(&format!("dynalite-{version}"), |dir| async move {
        let npm = find_on_path("npm").ok_or_else(|| missing("npm"))?;
        progress(&format!(
            "provisioning dynalite {version} with npm into {} (first use only; may take a minute)",
            dir.display()
        ));
        let mut command = tokio::process::Command::new(npm);
        command
            .arg("install")
            .arg("--prefix")
            .arg(&dir)
            .args([
                "--no-audit",
                "--no-fund",
                "--no-update-notifier",
                "--no-package-lock",
                "--omit=dev",
                "--loglevel=warn",
            ])
            .arg(format!("dynalite@{version}"));
        super::run_logged("npm", command, progress).await?;
        progress("dynalite installed");
        Ok(())
    })
    .await?;
    let cli_js = folder.join("node_modules").join("dynalite").join("cli.js");
    let watchdog_js = super::cache_root()?.join("stdin-watchdog.js");
    super::write_if_changed(&watchdog_js, STDIN_WATCHDOG_JS)?;
    Ok(DynaliteInstall {
        node,
        cli_js,
        watchdog_js,
    })
}
