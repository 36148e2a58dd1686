//! The whole YAML catalogue (scenarios/conformance) against this crate's handler, one test per case, on the
//! embedded dynoxide backend: `cargo test -p dynamo-session --test catalogue -- C12`. HTTP-level cases run
//! through `dynamo-harness conform --subjects rust-http` and show here as ignored, with that reason; slow
//! cases (the SDK's full retry backoff) run in CI's `conform --slow`.

dynamo_harness::harness!(dynamo_harness::subject::rust::RustSubject::new());
