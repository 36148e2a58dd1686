//! What conformance and load both stand on: the backend as a run sees it ([`Backdrop`]) and the session
//! table's operations ([`table`]), straight to the backend, never through the wire proxy. Neither reaches into
//! the other: conform and load each build on this layer.

mod backdrop;
pub mod table;

pub use backdrop::{Backdrop, TtlProcessChoice, backdrop_of};

/// The session cookie of both test apps (CakePHP's `Session.cookie`); with `_` it prefixes their keys.
pub const COOKIE_NAME: &str = "CAKEPHP";

/// The session table the web apps and load runs use: the plugin's default name.
pub const APP_TABLE: &str = dynamo_backends::TableSpec::DEFAULT_NAME;
