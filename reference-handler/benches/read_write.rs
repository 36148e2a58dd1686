//! Read+write cycles per second of the Rust handler against dynalite, next to raw GetItem+UpdateItem
//! pairs per second measured in the same run, and their ratio.
//!
//! One cycle is what a PHP request does to its session: a fresh handler object, `open`, `read(id)`,
//! `write(id, changed data)` (a PUTD), `close(id)` (no request after a successful write). The raw
//! pair sends the same two requests with the same parameters through a plain `aws-sdk-dynamodb` client.
//! Both run sequentially on one connection-pooled client, alternating in blocks so that drift in the
//! backend affects both alike.
//!
//! `cargo bench -p dynamo-session --bench read_write`; `BENCH_SECONDS` (default 3) per side and block count
//! `BENCH_BLOCKS` (default 4).

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeAction, AttributeValue, AttributeValueUpdate};
use dynamo_backends::{BackendKind, BackendOptions, TableSpec, provision_table};
use dynamo_session::{RetryPolicy, SessionClient, SessionConfig, SessionHandler, SystemClock};

const TABLE: &str = "bench_sessions";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn handler_cycles(
    client: &SessionClient,
    config: &SessionConfig,
    for_: Duration,
    counter: &mut u64,
) -> u64 {
    let started = Instant::now();
    let mut cycles = 0;
    while started.elapsed() < for_ {
        let mut h =
            SessionHandler::with_clock(client.clone(), config.clone(), Arc::new(SystemClock));
        h.open("", "CAKEPHP");
        let id = format!("bench{}", *counter % 64);
        h.read(&id).await.expect("read");
        *counter += 1;
        h.write(&id, format!("counter|i:{counter};").as_bytes())
            .await
            .expect("write");
        h.close(&id).await.expect("close");
        cycles += 1;
    }
    cycles
}

async fn raw_pairs(client: &aws_sdk_dynamodb::Client, for_: Duration, counter: &mut u64) -> u64 {
    let started = Instant::now();
    let mut pairs = 0;
    while started.elapsed() < for_ {
        let key = format!("CAKEPHP_raw{}", *counter % 64);
        client
            .get_item()
            .table_name(TABLE)
            .key("id", AttributeValue::S(key.clone()))
            .consistent_read(true)
            .send()
            .await
            .expect("GetItem");
        *counter += 1;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        client
            .update_item()
            .table_name(TABLE)
            .key("id", AttributeValue::S(key))
            .attribute_updates(
                "expires",
                AttributeValueUpdate::builder()
                    .value(AttributeValue::N((now + 1440).to_string()))
                    .build(),
            )
            .attribute_updates(
                "lock",
                AttributeValueUpdate::builder()
                    .action(AttributeAction::Delete)
                    .build(),
            )
            .attribute_updates(
                "data",
                AttributeValueUpdate::builder()
                    .value(AttributeValue::S(format!("counter|i:{counter};")))
                    .build(),
            )
            .send()
            .await
            .expect("UpdateItem");
        pairs += 1;
    }
    pairs
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let backend = dynamo_backends::start(&BackendOptions {
            kind: BackendKind::Dynoxide,
            ..BackendOptions::default()
        })
        .await
        .expect("dynalite starts");
        let sdk_config = backend.sdk_config();
        let raw = aws_sdk_dynamodb::Client::new(&sdk_config);
        provision_table(&raw, backend.capabilities(), &TableSpec::named(TABLE))
            .await
            .expect("table");
        let client = SessionClient::from_sdk_config(&sdk_config, RetryPolicy::php_default());
        let config = SessionConfig::builder(1440)
            .table_name(TABLE)
            .build()
            .expect("config");

        let per_block = Duration::from_secs(env_u64("BENCH_SECONDS", 3));
        let blocks = env_u64("BENCH_BLOCKS", 4);
        let mut counter = 0;
        // Warm-up: connections, dynalite's JIT.
        handler_cycles(&client, &config, Duration::from_millis(500), &mut counter).await;
        raw_pairs(&raw, Duration::from_millis(500), &mut counter).await;

        let (mut h_cycles, mut r_pairs) = (0, 0);
        let (mut h_time, mut r_time) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..blocks {
            let t = Instant::now();
            h_cycles += handler_cycles(&client, &config, per_block, &mut counter).await;
            h_time += t.elapsed();
            let t = Instant::now();
            r_pairs += raw_pairs(&raw, per_block, &mut counter).await;
            r_time += t.elapsed();
        }
        let h_rate = h_cycles as f64 / h_time.as_secs_f64();
        let r_rate = r_pairs as f64 / r_time.as_secs_f64();
        println!(
            "backend: dynalite {} at {}",
            dynamo_backends::versions::dynalite(),
            backend.endpoint_url()
        );
        println!(
            "handler read+write cycles/s : {h_rate:9.1}  ({h_cycles} cycles in {:.1} s)",
            h_time.as_secs_f64()
        );
        println!(
            "raw GetItem+UpdateItem /s   : {r_rate:9.1}  ({r_pairs} pairs in {:.1} s)",
            r_time.as_secs_f64()
        );
        println!("ratio handler/raw           : {:9.3}", h_rate / r_rate);
        backend.shutdown().await.expect("shutdown");
    });
}
