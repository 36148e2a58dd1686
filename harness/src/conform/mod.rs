//! The conformance runner: plays scenario cases against subjects on a backend and records one result per
//! (case, subject, backend).

mod checks;
mod group;
pub mod http;
pub mod mismatch;
pub mod plan;
mod play_handler;
mod play_http;
pub mod result;
pub mod runner;
mod substitute;
mod timeline;
pub mod trace;
