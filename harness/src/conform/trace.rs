//! Recorded real-SDK traces as expectations: a trace file in the `fixtures/sdk-traces` format, named by a
//! scenario, becomes the expected call sequence of a case ([`dynamo_wire::expect::expected_from_records`] says
//! what is loosened).

use std::path::Path;

use dynamo_wire::expect::{ExpectedCall, expected_from_records};

/// Reads `relative` (resolved against the scenario file's folder) into expected calls for a case whose table is
/// `table`.
pub fn expected_from_trace(
    scenario_file: &Path,
    relative: &str,
    table: &str,
) -> anyhow::Result<Vec<ExpectedCall>> {
    let path = scenario_file
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(relative);
    let records = dynamo_wire::read_trace(&path)
        .map_err(|e| anyhow::anyhow!("reading trace {}: {e}", path.display()))?;
    Ok(expected_from_records(&records, table))
}
