//! What the harness prepares around a run and checks after it: expired sessions seeded for garbage collection
//! to find, and the shared hot session primed before the users start and read back after they stop.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};

use super::transactions::{COOKIE_NAME, COUNTER_KEY, USER_AGENT};

/// BatchWriteItem takes at most 25 writes.
const BATCH: usize = 25;

/// Writes `count` sessions that expired an hour ago, straight to the backend (never through the proxy, so they
/// do not count as the subject's calls). Keys are unique per run so runs never trip over each other's leftovers.
pub async fn seed_expired(
    client: &Client,
    table: &str,
    count: usize,
    run_tag: &str,
) -> anyhow::Result<()> {
    let expired = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .saturating_sub(3600);
    let mut written = 0;
    while written < count {
        let n = BATCH.min(count - written);
        let mut writes: Vec<WriteRequest> = (written..written + n)
            .map(|i| {
                let put = PutRequest::builder()
                    .item(
                        "id",
                        AttributeValue::S(format!("{COOKIE_NAME}_expired{run_tag}x{i}")),
                    )
                    .item("expires", AttributeValue::N(expired.to_string()))
                    .item("data", AttributeValue::S("Config|a:0:{}".to_owned()))
                    .build()
                    .expect("id and expires are set");
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        // A local backend processes every item; a real table may hand some back, which are sent again (a
        // bounded number of times).
        for _ in 0..10 {
            let answer = client
                .batch_write_item()
                .request_items(table, writes)
                .send()
                .await
                .with_context(|| format!("seeding expired sessions into {table}"))?;
            writes = answer
                .unprocessed_items
                .and_then(|mut m| m.remove(table))
                .unwrap_or_default();
            if writes.is_empty() {
                break;
            }
        }
        written += n;
    }
    Ok(())
}

/// A reqwest client that looks like the load users to the app (same user agent), for the harness's own
/// requests on the shared session.
pub fn harness_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the harness's HTTP client")
}

/// `GET /health` must answer 2xx (the contract's health check, which touches no session).
pub async fn check_health(client: &reqwest::Client, base_url: &str) -> anyhow::Result<()> {
    let response = client
        .get(format!("{base_url}/health"))
        .send()
        .await
        .with_context(|| format!("{base_url} does not answer GET /health"))?;
    let status = response.status();
    if !status.is_success() {
        anyhow::bail!("{base_url}/health answered HTTP {status}");
    }
    Ok(())
}

/// Creates the session every hot-session user shares, with the counter at 0; returns its cookie value.
pub async fn prime_hot_session(client: &reqwest::Client, base_url: &str) -> anyhow::Result<String> {
    let response = client
        .post(format!("{base_url}/session/set"))
        .json(&json!({"values": {COUNTER_KEY: 0}}))
        .send()
        .await
        .context("priming the shared hot session (POST /session/set)")?;
    let status = response.status();
    let cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .filter_map(|h| h.split(';').next())
        .filter_map(|pair| pair.split_once('='))
        .filter(|(name, value)| *name == COOKIE_NAME && *value != "deleted")
        .map(|(_, value)| value.to_owned())
        .next_back();
    match (status.is_success(), cookie) {
        (true, Some(cookie)) => Ok(cookie),
        (true, None) => {
            anyhow::bail!("priming the hot session: the app set no {COOKIE_NAME} cookie")
        }
        (false, _) => anyhow::bail!(
            "priming the hot session: HTTP {status}: {}",
            response.text().await.unwrap_or_default()
        ),
    }
}

/// The shared session's counter after the run (`None` when the session has no counter any more).
pub async fn read_counter(
    client: &reqwest::Client,
    base_url: &str,
    cookie: &str,
) -> anyhow::Result<Option<u64>> {
    let response = client
        .get(format!("{base_url}/session"))
        .header(COOKIE, format!("{COOKIE_NAME}={cookie}"))
        .send()
        .await
        .context("reading the hot session back (GET /session)")?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .with_context(|| format!("reading the hot session back: HTTP {status}, not JSON"))?;
    Ok(body
        .get("data")
        .and_then(|d| d.get(COUNTER_KEY))
        .and_then(Value::as_u64))
}
