//! Proxy overhead: GetItem round trips against dynalite, direct and through a `WireProxy`, in the same run.
//!
//! `cargo bench -p dynamo-wire --bench proxy_overhead` prints per-call medians and the proxied/direct ratio.
//! Absolute figures depend on the machine; the ratio is the number to watch. Not a test: nothing asserts.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use dynamo_backends::{BackendKind, BackendOptions, TableSpec, provision_table};
use dynamo_wire::WireProxy;

/// Calls per measured block; blocks alternate direct/proxied so drift (JIT warm-up in dynalite, CPU
/// frequency) hits both sides alike.
const BLOCK: usize = 250;
const ROUNDS: usize = 8;

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let backend = dynamo_backends::start(&BackendOptions {
        kind: BackendKind::Dynoxide,
        ..Default::default()
    })
    .await?;
    let direct = Client::new(&backend.sdk_config());
    let spec = TableSpec::named("wire_bench");
    provision_table(&direct, backend.capabilities(), &spec).await?;
    direct
        .put_item()
        .table_name(&spec.name)
        .item("id", AttributeValue::S("CAKEPHP_bench".into()))
        .item(
            "data",
            AttributeValue::S("Config|a:1:{s:4:\"time\";i:1795962067;}".repeat(8)),
        )
        .send()
        .await?;

    let proxy = WireProxy::start(backend.endpoint_url()).await?;
    let proxied = Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&backend.sdk_config())
            .endpoint_url(proxy.endpoint_url())
            .build(),
    );

    for client in [&direct, &proxied] {
        block(client, &spec.name, BLOCK).await?; // warm-up: connections, dynalite's JIT
    }
    let (mut direct_times, mut proxied_times) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        direct_times.extend(block(&direct, &spec.name, BLOCK).await?);
        proxied_times.extend(block(&proxied, &spec.name, BLOCK).await?);
        proxy.take_records(); // a long run must not grow the record buffer without bound
    }
    let (d, p) = (median(&mut direct_times), median(&mut proxied_times));
    let (d90, p90) = (
        percentile(&direct_times, 0.9),
        percentile(&proxied_times, 0.9),
    );
    println!(
        "GetItem round trips against dynalite, {} calls per side",
        direct_times.len()
    );
    println!(
        "  direct : median {:>8.1} µs   p90 {:>8.1} µs",
        micros(d),
        micros(d90)
    );
    println!(
        "  proxied: median {:>8.1} µs   p90 {:>8.1} µs",
        micros(p),
        micros(p90)
    );
    println!(
        "  ratio proxied/direct (median): {:.3}",
        p.as_secs_f64() / d.as_secs_f64()
    );
    proxy.shutdown().await;
    backend.shutdown().await?;
    Ok(())
}

async fn block(client: &Client, table: &str, calls: usize) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        client
            .get_item()
            .table_name(table)
            .key("id", AttributeValue::S("CAKEPHP_bench".into()))
            .consistent_read(true)
            .send()
            .await?;
        times.push(started.elapsed());
    }
    Ok(times)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q) as usize]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
