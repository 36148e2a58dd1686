//! The one error type of this crate, with enough context to act on without re-running anything.

use std::path::PathBuf;

/// Everything that can go wrong while starting, provisioning or stopping a backend.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// A program the backend needs is not installed. `install` names the Debian package, `alternative`
    /// a backend that would work without it.
    #[error(
        "`{program}` was not found on PATH; it is needed for the {backend} backend. \
         Install it (Debian/Ubuntu: `apt-get install {install}`), or use {alternative}"
    )]
    MissingProgram {
        program: &'static str,
        backend: &'static str,
        install: &'static str,
        alternative: &'static str,
    },

    /// A provisioning or helper command ran and failed.
    #[error("`{command}` failed ({status}); last output:\n{output_tail}")]
    CommandFailed {
        command: String,
        status: String,
        output_tail: String,
    },

    /// The embedded server (dynoxide, in this process) could not start, sweep or stop.
    #[error("the embedded dynoxide backend: {0}")]
    Embedded(String),

    /// A program could not be started at all (not a missing program: permissions, bad path, ...).
    #[error("could not run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },

    /// The server process exited before it answered a request.
    #[error(
        "{program} exited before it was ready ({status}) — command `{command}`; last output:\n{output_tail}"
    )]
    ExitedEarly {
        program: &'static str,
        command: String,
        status: String,
        output_tail: String,
    },

    /// The server process is running but did not answer ListTables before the deadline.
    #[error(
        "{program} did not answer ListTables at {endpoint} within {waited_secs}s — command `{command}`; \
         last error: {last_error}; last output:\n{output_tail}"
    )]
    NotReady {
        program: &'static str,
        command: String,
        endpoint: String,
        waited_secs: u64,
        last_error: String,
        output_tail: String,
    },

    /// No Docker engine answered, so the container backend cannot run here.
    #[error(
        "no Docker engine answered ({reason}); the container backend needs one. \
         Use `--backend dynoxide` (in process, needs nothing) instead"
    )]
    DockerUnavailable { reason: String },

    /// testcontainers failed after Docker answered.
    #[error("the container backend failed: {0}")]
    Container(String),

    /// The options do not make sense for the chosen backend.
    #[error("invalid backend options: {0}")]
    InvalidOptions(String),

    /// A DynamoDB call made by this crate (probes, table provisioning) failed.
    #[error("DynamoDB {operation} failed: {message}")]
    Dynamo {
        operation: &'static str,
        message: String,
    },

    /// A file-system step failed (cache folder, lock file, watchdog script).
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl BackendError {
    /// Wraps an SDK error (the `Display` of `SdkError` alone only says "service error").
    pub(crate) fn dynamo<E>(operation: &'static str, err: E) -> Self
    where
        E: std::error::Error + 'static,
    {
        BackendError::Dynamo {
            operation,
            // DisplayErrorContext walks the source chain, so the service's code and message are kept.
            message: aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string(),
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        BackendError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    /// A missing program's message must say what to install and what else would work.
    #[test]
    fn missing_program_messages_are_actionable() {
        let node = crate::provision::npm::missing("node").to_string();
        assert!(node.contains("apt-get install nodejs npm"), "{node}");
        assert!(node.contains("--backend moto"), "{node}");
        let venv = crate::provision::pip::missing("python3 -m venv", "python3-venv").to_string();
        assert!(venv.contains("apt-get install python3-venv"), "{venv}");
        assert!(venv.contains("--backend dynalite"), "{venv}");
    }
}
