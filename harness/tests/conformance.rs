//! The catalogue entry point (`dynamo_harness::harness!`) as an embedding crate uses it, on a folder of its own:
//! `tests/data/catalogue` holds one case of each outcome (pass, skip, slow, HTTP-level). The built-in catalogue
//! plays against the reference handler the same way in `reference-handler/tests/catalogue.rs`, once per CI run.

use dynamo_harness::catalogue::Catalogue;
use dynamo_harness::subject::rust::RustSubject;

dynamo_harness::harness!(
    RustSubject::new(),
    Catalogue::dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/catalogue"))
);
