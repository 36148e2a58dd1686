//! Load: goose scenarios driven through the web apps, with metrics merged from goose and the wire proxy.
//!
//! * [`profile`]: the profiles of `scenarios/load` (users, hatch rate, duration, mix, locking);
//! * [`scenarios`] and [`transactions`]: the goose scenarios, one small transaction per contract request;
//! * [`attack`]: one goose run on a runtime of its own; [`cpu`]: what the generator itself cost;
//! * [`ceiling`]: the backend's raw GetItem+UpdateItem ceiling, measured in the same run;
//! * [`setup`]: seeding expired sessions, priming and reading back the shared hot session;
//! * [`metrics`]: goose's numbers and the proxy's call counts, merged; [`run`]: the whole run;
//! * [`report`] and [`plot`]: summary.json, summary.md, the terminal table, plot.svg;
//! * [`cost`]: CPU per request part by part (generator, proxy, app, backend) and what bounds a point;
//! * [`amplification`]: DynamoDB calls per successful request with locking ÷ without (lock storms);
//! * [`threshold`] and [`baseline`]: `--threshold` rules and `--baseline` deltas that make a run pass or fail.

pub mod amplification;
pub mod attack;
pub mod baseline;
pub mod ceiling;
pub mod cost;
pub mod cpu;
pub mod metrics;
pub mod plot;
pub mod profile;
pub mod report;
pub mod run;
pub mod scenarios;
pub mod setup;
pub mod threshold;
pub mod transactions;

pub use profile::{LockingMode, Profile, builtin_dir};
pub use run::{Event, LoadReport, LoadRequest, RunRecord, RunStatus, URL_SUBJECT, run};
