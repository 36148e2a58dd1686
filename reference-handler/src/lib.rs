//! The AWS SDK for PHP v3 `Aws\DynamoDb\SessionHandler`, rebuilt on `aws-sdk-dynamodb`.
