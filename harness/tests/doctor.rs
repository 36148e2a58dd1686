//! `dynamo-harness doctor` against dynoxide: tables deliberately wrong in each way the doctor checks, and
//! denials of each action injected by the wire proxy (AccessDeniedException, 400, for one operation).

use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ProvisionedThroughput,
    ScalarAttributeType, TimeToLiveSpecification,
};
use dynamo_backends::{Backend, BackendKind, TableSpec, provision_table, shared_backend};
use dynamo_harness::cli::doctor::{self, DoctorArgs, Finding, Level, RemoteArgs};
use dynamo_wire::{FaultAction, FaultMatch, FaultRule, WireProxy};

async fn backend() -> Arc<dyn Backend> {
    shared_backend(BackendKind::Dynoxide)
        .await
        .expect("dynoxide starts")
}

fn args(endpoint: &str, table: &str) -> DoctorArgs {
    DoctorArgs {
        endpoint: Some(endpoint.to_owned()),
        region: Some("us-east-1".to_owned()),
        table: table.to_owned(),
        gc_maxlifetime: 86_400,
        cake_timeout: 480,
        timeout: 10,
        quiet: false,
        remote: RemoteArgs::default(),
    }
}

async fn findings(endpoint: &str, table: &str) -> Vec<Finding> {
    doctor::check(&args(endpoint, table))
        .await
        .expect("the doctor runs")
}

fn line<'a>(findings: &'a [Finding], check: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.check == check)
        .unwrap_or_else(|| panic!("no {check} line in {findings:#?}"))
}

fn show(findings: &[Finding]) -> String {
    findings.iter().map(|f| format!("{f}\n")).collect()
}

/// A table created by hand: `hash` of `kind` as its key, provisioned or on demand, TTL on `ttl` if given.
async fn create(
    client: &Client,
    name: &str,
    hash: &str,
    kind: ScalarAttributeType,
    provisioned: bool,
    ttl: Option<&str>,
) {
    let _ = client.delete_table().table_name(name).send().await;
    let mut create = client
        .create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(hash)
                .attribute_type(kind)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(hash)
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        );
    create = match provisioned {
        true => create
            .billing_mode(BillingMode::Provisioned)
            .provisioned_throughput(
                ProvisionedThroughput::builder()
                    .read_capacity_units(5)
                    .write_capacity_units(5)
                    .build()
                    .unwrap(),
            ),
        false => create.billing_mode(BillingMode::PayPerRequest),
    };
    create.send().await.expect("table created");
    if let Some(attribute) = ttl {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(true)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("TTL enabled");
    }
}

/// No item of the doctor's is left in the table.
async fn no_probe_left(client: &Client, table: &str) {
    let items = client.scan().table_name(table).send().await.unwrap();
    let left: Vec<_> = items
        .items()
        .iter()
        .filter_map(|item| item.get("id").and_then(|v| v.as_s().ok()))
        .filter(|id| id.starts_with(doctor::PROBE_PREFIX))
        .collect();
    assert!(left.is_empty(), "probe items left in {table}: {left:?}");
}

#[tokio::test]
async fn a_table_as_the_template_makes_it_is_all_ok() {
    let backend = backend().await;
    let client = Client::new(&backend.sdk_config());
    provision_table(
        &client,
        backend.capabilities(),
        &TableSpec::named("doctor_good"),
    )
    .await
    .unwrap();
    let found = findings(backend.endpoint_url(), "doctor_good").await;
    let text = show(&found);
    // Latency may warn on a loaded machine; nothing else may.
    assert!(
        found
            .iter()
            .all(|f| f.level == Level::Ok || f.check == "latency"),
        "{text}"
    );
    assert!(
        line(&found, "table")
            .message
            .contains("key schema id S HASH"),
        "{text}"
    );
    assert!(
        line(&found, "billing").message.contains("PAY_PER_REQUEST"),
        "{text}"
    );
    assert!(line(&found, "ttl").message.contains("on expires"), "{text}");
    for (action, ..) in doctor::ACTIONS {
        assert!(
            text.contains(&format!("dynamodb:{action} allowed")),
            "{action}: {text}"
        );
    }
    assert!(
        line(&found, "latency").message.contains("round trip"),
        "{text}"
    );
    no_probe_left(&client, "doctor_good").await;
}

#[tokio::test]
async fn wrong_tables_are_named() {
    let backend = backend().await;
    let client = Client::new(&backend.sdk_config());
    let endpoint = backend.endpoint_url();

    create(
        &client,
        "doctor_sid",
        "sid",
        ScalarAttributeType::S,
        false,
        Some("expires"),
    )
    .await;
    let found = findings(endpoint, "doctor_sid").await;
    let table = line(&found, "table");
    assert_eq!(table.level, Level::Fail, "{}", show(&found));
    assert!(table.message.contains("key schema sid S HASH"), "{table}");
    assert!(
        found.iter().all(|f| f.check != "iam"),
        "access checks skipped: {}",
        show(&found)
    );

    create(
        &client,
        "doctor_number",
        "id",
        ScalarAttributeType::N,
        false,
        Some("expires"),
    )
    .await;
    let found = findings(endpoint, "doctor_number").await;
    let table = line(&found, "table");
    assert_eq!(table.level, Level::Fail, "{}", show(&found));
    assert!(table.message.contains("key schema id N HASH"), "{table}");

    create(
        &client,
        "doctor_no_ttl",
        "id",
        ScalarAttributeType::S,
        false,
        None,
    )
    .await;
    let found = findings(endpoint, "doctor_no_ttl").await;
    let ttl = line(&found, "ttl");
    assert_eq!(ttl.level, Level::Warn, "{}", show(&found));
    assert!(ttl.message.starts_with("DISABLED"), "{ttl}");
    no_probe_left(&client, "doctor_no_ttl").await;

    create(
        &client,
        "doctor_other_ttl",
        "id",
        ScalarAttributeType::S,
        false,
        Some("ttl"),
    )
    .await;
    let found = findings(endpoint, "doctor_other_ttl").await;
    let ttl = line(&found, "ttl");
    assert_eq!(ttl.level, Level::Warn, "{}", show(&found));
    assert!(ttl.message.contains("on ttl, not on expires"), "{ttl}");

    create(
        &client,
        "doctor_provisioned",
        "id",
        ScalarAttributeType::S,
        true,
        Some("expires"),
    )
    .await;
    let found = findings(endpoint, "doctor_provisioned").await;
    let billing = line(&found, "billing");
    assert_eq!(billing.level, Level::Warn, "{}", show(&found));
    assert!(
        billing.message.starts_with("PROVISIONED, 5 read / 5 write"),
        "{billing}"
    );
    assert!(
        found.iter().all(|f| f.level != Level::Fail),
        "{}",
        show(&found)
    );

    let found = findings(endpoint, "doctor_no_such_table").await;
    let table = line(&found, "table");
    assert_eq!(table.level, Level::Fail, "{}", show(&found));
    assert!(table.message.contains("does not exist"), "{table}");
}

/// AccessDeniedException (400) for every call of one operation, as IAM answers a denied action.
fn deny(op: &str) -> FaultRule {
    FaultRule {
        matcher: FaultMatch {
            op: Some(op.to_owned()),
            key: None,
        },
        action: FaultAction::Error {
            code: "AccessDeniedException".to_owned(),
            status: 400,
            message: Some(format!(
                "User: arn:aws:iam::123456789012:user/web is not authorized to perform: dynamodb:{op}"
            )),
        },
        times: None,
        fraction: None,
        seed: 0,
    }
}

#[tokio::test]
async fn each_denied_action_is_named() {
    let backend = backend().await;
    let client = Client::new(&backend.sdk_config());
    provision_table(
        &client,
        backend.capabilities(),
        &TableSpec::named("doctor_denied"),
    )
    .await
    .unwrap();
    let proxy = WireProxy::start(backend.endpoint_url()).await.unwrap();
    for (action, _, _, gc_only) in doctor::ACTIONS {
        proxy.set_faults(vec![deny(action)]);
        let found = findings(&proxy.endpoint_url(), "doctor_denied").await;
        let text = show(&found);
        let denied: Vec<&Finding> = found
            .iter()
            .filter(|f| f.check == "iam" && f.message.contains("denied"))
            .collect();
        assert_eq!(denied.len(), 1, "{action}: {text}");
        assert!(
            denied[0]
                .message
                .starts_with(&format!("dynamodb:{action} denied")),
            "{action}: {text}"
        );
        let expected = if gc_only { Level::Warn } else { Level::Fail };
        assert_eq!(denied[0].level, expected, "{action}: {text}");
        assert!(
            proxy.fault_hits()[0] >= 1,
            "{action}: the fault never applied"
        );
        // The others are allowed.
        let allowed = found
            .iter()
            .filter(|f| f.check == "iam" && f.message.contains("allowed"))
            .count();
        assert_eq!(allowed, doctor::ACTIONS.len() - 1, "{action}: {text}");
        no_probe_left(&client, "doctor_denied").await;
    }
    for (op, check) in [("DescribeTable", "table"), ("DescribeTimeToLive", "ttl")] {
        proxy.set_faults(vec![deny(op)]);
        let found = findings(&proxy.endpoint_url(), "doctor_denied").await;
        let finding = line(&found, check);
        assert_eq!(finding.level, Level::Warn, "{op}: {}", show(&found));
        assert!(
            finding.message.contains(&format!("dynamodb:{op} denied")),
            "{finding}"
        );
        assert!(
            found.iter().all(|f| f.level != Level::Fail),
            "{op}: {}",
            show(&found)
        );
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_fail_and_stops_the_calls() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let found = findings(&format!("http://127.0.0.1:{port}"), "t").await;
    let endpoint = line(&found, "endpoint");
    assert_eq!(endpoint.level, Level::Fail, "{}", show(&found));
    assert!(found.iter().all(|f| f.check != "iam"), "{}", show(&found));
    // The session line is always there.
    line(&found, "session");
}

#[tokio::test]
async fn real_aws_needs_the_confirmation_and_bad_urls_are_refused() {
    let mut remote = args("https://dynamodb.eu-west-1.amazonaws.com", "t");
    let error = doctor::check(&remote).await.unwrap_err().to_string();
    assert!(error.contains("--yes-real-aws"), "{error}");
    remote.endpoint = Some("notaurl".to_owned());
    let error = doctor::check(&remote).await.unwrap_err().to_string();
    assert!(error.contains("not a URL"), "{error}");
}

#[tokio::test]
async fn the_binary_exits_0_1_or_2() {
    let backend = backend().await;
    let client = Client::new(&backend.sdk_config());
    provision_table(
        &client,
        backend.capabilities(),
        &TableSpec::named("doctor_exit"),
    )
    .await
    .unwrap();
    let run = |extra: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_dynamo-harness"))
            .arg("doctor")
            .args(extra)
            .env_remove("COMANAGE_REGISTRY_DYNAMODB_ENDPOINT")
            .env_remove("COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_ACCESSKEY")
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let endpoint = backend.endpoint_url().to_owned();
    let (code, stdout, _) = run(&["--endpoint", &endpoint, "--table", "doctor_exit"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("OK   table: doctor_exit: key schema id S HASH"),
        "{stdout}"
    );
    assert!(stdout.contains("doctor: 0 failed"), "{stdout}");
    let (code, stdout, _) = run(&["--endpoint", &endpoint, "--table", "doctor_missing"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL table: doctor_missing does not exist"),
        "{stdout}"
    );
    let (code, _, stderr) = run(&["--endpoint", "notaurl"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not a URL"), "{stderr}");
    let (code, _, stderr) = run(&["--endpoint", "https://dynamodb.eu-west-1.amazonaws.com"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--yes-real-aws"), "{stderr}");
}
