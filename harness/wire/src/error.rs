//! Errors of the trace I/O and of the proxy.

use std::path::PathBuf;

/// What can go wrong reading or writing a trace, or starting the proxy.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("trace file {path}: {source}")]
    TraceIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("trace file {path}, line {line}: {source}")]
    TraceParse {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("upstream URL {url:?} is not usable: {reason}")]
    BadUpstream { url: String, reason: String },
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
}
