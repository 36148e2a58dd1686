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

/// An error and its sources on one line, each text once (the SDK's `DisplayErrorContext` and hyper's errors
/// repeat their source's text).
pub fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(error) = next {
        let text = error.to_string();
        if !parts.last().is_some_and(|last| last.ends_with(&text)) {
            parts.push(text);
        }
        next = error.source();
    }
    parts.join(": ")
}
