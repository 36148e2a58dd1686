//! The DynamoSession harness: subjects, scenarios, conformance, load and reports.

pub mod assets;
pub mod catalogue;
pub mod cli;
pub mod conform;
pub mod dynamo_json;
pub mod environment;
pub mod load;
pub mod protocol;
pub mod report;
pub mod scenario;
pub mod schema;
pub mod subject;
