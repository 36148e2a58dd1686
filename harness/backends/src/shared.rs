//! One dynalite per test binary, for other crates' tests.

use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::{Backend, BackendError, BackendKind, BackendOptions, start};

static SHARED_DYNALITE: OnceCell<Arc<dyn Backend>> = OnceCell::const_new();

/// A dynalite started on first call and shared by every later call in the same process.
///
/// Meant for test binaries: each `#[tokio::test]` may call it; the first one provisions (npm, once per
/// machine) and starts the server, the others get the same `Arc`. It is never dropped: the server exits when
/// the test process does, because it watches its stdin pipe and the kernel closes that pipe at process exit,
/// however the process ends. Safe to use across the separate runtimes of `#[tokio::test]` functions as long
/// as each test builds its own client (`aws_sdk_dynamodb::Client::new(&backend.sdk_config())`) and uses its
/// own table names (tests run in parallel against the same server).
pub async fn shared_dynalite() -> Result<Arc<dyn Backend>, BackendError> {
    SHARED_DYNALITE
        .get_or_try_init(|| async {
            let options = BackendOptions {
                kind: BackendKind::Dynalite,
                ..BackendOptions::default()
            };
            start(&options).await.map(Arc::from)
        })
        .await
        .cloned()
}
