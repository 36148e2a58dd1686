//! The DynamoSession harness: subjects, scenarios, conformance, load and reports.
