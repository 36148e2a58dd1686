//! moto from PyPI, in a virtual environment of its own (never system-wide).

use std::path::PathBuf;

use crate::process::find_on_path;
use crate::{BackendError, Progress, versions};

pub(crate) fn missing(program: &'static str, install: &'static str) -> BackendError {
    BackendError::MissingProgram {
        program,
        backend: "moto",
        install,
        alternative: "`--backend dynalite` (needs nodejs and npm) or `--backend container` (needs Docker)",
    }
}

/// Installs `moto[server]` at the pinned version into `<cache>/dynamo-harness/moto-<v>/venv` (once per
/// cache) and returns the venv's python.
pub(crate) async fn ensure_moto(progress: &Progress) -> Result<PathBuf, BackendError> {
    let python3 =
        find_on_path("python3").ok_or_else(|| missing("python3", "python3 python3-venv"))?;
    let version = versions::moto();
    let folder = super::ensure_installed(&format!("moto-{version}"), |dir| async move {
        progress(&format!(
            "provisioning moto {version} with pip into {} (first use only; may take a minute or two)",
            dir.display()
        ));
        let venv = dir.join("venv");
        let mut create = tokio::process::Command::new(&python3);
        create.args(["-m", "venv"]).arg(&venv);
        super::run_logged("venv", create, progress)
            .await
            .map_err(|err| match err {
                // Debian splits ensurepip out of python3; the message it prints is long, ours says what to do.
                BackendError::CommandFailed { output_tail, .. } if output_tail.contains("ensurepip") => {
                    missing("python3 -m venv", "python3-venv")
                }
                other => other,
            })?;
        let mut install = tokio::process::Command::new(venv.join("bin").join("python"));
        install
            .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar=off"])
            .arg(format!("moto[server]=={version}"));
        super::run_logged("pip", install, progress).await?;
        progress("moto installed");
        Ok(())
    })
    .await?;
    Ok(folder.join("venv").join("bin").join("python"))
}
