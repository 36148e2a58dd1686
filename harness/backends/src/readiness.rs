//! "Ready" means a real ListTables call succeeded, polled until a deadline (never a fixed sleep).

use std::time::{Duration, Instant};

use crate::BackendError;

/// Interval between two ListTables attempts; short, because dynalite is up in ~100 ms.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// Polls ListTables until it succeeds or `within` has passed.
///
/// Before each attempt `still_viable` may abort the wait (e.g. the server process has exited: no point in
/// waiting any longer). On timeout, `timed_out` turns the last SDK error into the error to return.
pub(crate) async fn wait_for_list_tables(
    client: &aws_sdk_dynamodb::Client,
    within: Duration,
    still_viable: impl Fn() -> Result<(), BackendError>,
    timed_out: impl FnOnce(String) -> BackendError,
) -> Result<(), BackendError> {
    let started = Instant::now();
    loop {
        still_viable()?;
        let last_error = match client.list_tables().limit(1).send().await {
            Ok(_) => return Ok(()),
            Err(err) => aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string(),
        };
        if started.elapsed() >= within {
            return Err(timed_out(last_error));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
