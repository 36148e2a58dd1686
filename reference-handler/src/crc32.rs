//! The PHP SDK's response CRC32 check (`Aws\Api\Parser\Crc32ValidatingParser`), which the Rust SDK
//! does not perform.
//!
//! PHP checks the body of every successful DynamoDB response that carries `x-amz-crc32` and raises a
//! plain `AwsException` (code `ClientChecksumMismatch`, flagged as a connection error, so it is retried)
//! on mismatch (spec §2, C60). This interceptor fails the attempt the same way; the retry policy treats
//! [`Crc32Mismatch`] as retryable and the error mapping turns it into
//! [`crate::ClientErrorKind::ChecksumMismatch`].

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The body's CRC32 differs from the `x-amz-crc32` header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("crc32 mismatch. Expected {expected}, found {found}.")]
pub struct Crc32Mismatch {
    /// The header value as received.
    pub expected: String,
    /// The CRC32 of the body received.
    pub found: u32,
}

/// Interceptor that validates `x-amz-crc32` on successful responses.
#[derive(Debug, Default, Clone, Copy)]
pub struct Crc32Interceptor;

impl Intercept for Crc32Interceptor {
    fn name(&self) -> &'static str {
        "PhpSdkCrc32Validation"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        // PHP validates in the result parser, which error responses never reach.
        if !response.status().is_success() {
            return Ok(());
        }
        let Some(expected) = response.headers().get("x-amz-crc32") else {
            return Ok(());
        };
        let Some(body) = response.body().bytes() else {
            return Ok(());
        };
        let found = crc32fast::hash(body);
        // PHP compares with `!=`: the header string against the integer hash.
        if expected.trim().parse::<u64>().ok() == Some(u64::from(found)) {
            Ok(())
        } else {
            Err(Box::new(Crc32Mismatch {
                expected: expected.to_owned(),
                found,
            }))
        }
    }
}
