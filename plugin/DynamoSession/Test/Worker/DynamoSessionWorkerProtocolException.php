<?php

/**
 * A request the handler worker cannot execute (bad JSON, unknown op, missing or mistyped field, no handler yet).
 * Answered as the protocol's HarnessProtocolError, never confused with an exception from the handler under test.
 */
final class DynamoSessionWorkerProtocolException extends RuntimeException
{
}
