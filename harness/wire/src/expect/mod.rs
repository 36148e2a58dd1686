//! Expectations: the one engine that matches what was recorded against what was expected, used by the
//! conformance runner, the trace replays and every diff a report shows.
//!
//! [`pattern`] matches values written with placeholders (`<NOW±d>`, `<ANY>`, `<SIDn>`, optional keys `key?`);
//! [`calls`] matches call sequences, runs of repeated calls included; [`trace`] turns a recorded trace into
//! expected calls.

pub mod calls;
pub mod pattern;
pub mod trace;

pub use calls::{ExpectedCall, ObservedCall, Quantity, call_diffs, match_calls, observed_calls};
pub use pattern::{
    Bindings, NowWindow, abbreviate, match_glob, match_json, match_str, resolve_now,
    substitute_sids,
};
pub use trace::{TRACE_TABLE, expected_exactly, expected_from_records};
