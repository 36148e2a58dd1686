//! The conformance runner: plays scenario cases against subjects on a backend and records one result per
//! (case, subject, backend).

pub mod http;
pub mod plan;
pub mod result;
pub mod runner;
pub mod table;
pub mod trace;
