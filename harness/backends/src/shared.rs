//! One backend of a kind per test binary, for other crates' tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::{Backend, BackendError, BackendKind, BackendOptions, start};

type Cell = Arc<OnceCell<Arc<dyn Backend>>>;

static SHARED: Mutex<Option<HashMap<BackendKind, Cell>>> = Mutex::new(None);

/// A backend of `kind` started on first call and shared by every later call in the same process.
///
/// Meant for test binaries: each `#[tokio::test]` may call it; the first one starts the server (and
/// provisions it, for the kinds installed from a registry), the others get the same `Arc`. It is never
/// dropped. A server process exits when the test process does, because it watches its stdin pipe and the
/// kernel closes that pipe at process exit, however the process ends; dynoxide runs on a thread of its own,
/// which ends with the process. Safe to use across the separate runtimes of `#[tokio::test]` functions as
/// long as each test builds its own client (`aws_sdk_dynamodb::Client::new(&backend.sdk_config())`) and uses
/// its own table names (tests run in parallel against the same server).
pub async fn shared_backend(kind: BackendKind) -> Result<Arc<dyn Backend>, BackendError> {
    let cell: Cell = {
        let mut cells = SHARED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cells
            .get_or_insert_with(HashMap::new)
            .entry(kind)
            .or_default()
            .clone()
    };
    cell.get_or_try_init(|| async {
        let options = BackendOptions {
            kind,
            ..BackendOptions::default()
        };
        start(&options).await.map(Arc::from)
    })
    .await
    .cloned()
}

/// The shared dynalite of this test binary ([`shared_backend`] with [`BackendKind::Dynalite`]).
pub async fn shared_dynalite() -> Result<Arc<dyn Backend>, BackendError> {
    shared_backend(BackendKind::Dynalite).await
}
