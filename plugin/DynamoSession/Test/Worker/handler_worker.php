<?php

/*
 * The `php` subject of the conformance harness: a long-lived worker that runs the handler-operations protocol of
 * docs/seams.md (JSON lines on stdin, one JSON response line per request on stdout, flushed after each) against
 * this plugin's DynamoSession class wrapping Aws\DynamoDb\SessionHandler::fromClient().
 *
 *   php plugin/DynamoSession/Test/Worker/handler_worker.php
 *
 * Environment:
 *   DYNAMO_SESSION_VENDOR   a Composer vendor directory holding aws/aws-sdk-php and cakephp/cakephp; default:
 *                           fixtures/cakephp-app/vendor, then plugin/DynamoSession/Vendor
 *   CAKE_CORE_INCLUDE_PATH  optional: the directory holding CakePHP's Cake/ (default <vendor>/cakephp/cakephp/lib)
 *
 * Exit status: 0 at end of input; 3 when the vendor tree or CakePHP is missing (the reason, with the composer
 * command that installs them, is on stderr). Everything that is not a response goes to stderr.
 */

ini_set('display_errors', 'stderr');
ini_set('log_errors', '0');
// The SDK's session handler compares and formats ids only; no PHP session is ever started here.
ini_set('session.use_cookies', '0');

require_once dirname(__DIR__, 2) . DIRECTORY_SEPARATOR . 'Lib' . DIRECTORY_SEPARATOR . 'DynamoSessionVendor.php';
require_once dirname(__DIR__) . DIRECTORY_SEPARATOR . 'Support' . DIRECTORY_SEPARATOR . 'DynamoSessionCakeBoot.php';
require_once __DIR__ . DIRECTORY_SEPARATOR . 'DynamoSessionWorkerProtocolException.php';
require_once __DIR__ . DIRECTORY_SEPARATOR . 'DynamoSessionWorkerClock.php';
require_once __DIR__ . DIRECTORY_SEPARATOR . 'DynamoSessionHandlerWorker.php';

// Before anything can call into the SDK (see DynamoSessionWorkerClock).
DynamoSessionWorkerClock::install();

$reason = DynamoSessionCakeBoot::unavailableReason();
if ($reason !== null) {
    fwrite(STDERR, 'handler_worker: ' . $reason . "\n");
    exit(DynamoSessionVendor::EXIT_NO_VENDOR);
}
try {
    DynamoSessionCakeBoot::boot();
    App::uses('DynamoSession', 'DynamoSession.Model/Datasource/Session');
    if (!class_exists('DynamoSession')) {
        throw new RuntimeException('the plugin class DynamoSession could not be loaded');
    }
} catch (Throwable $e) {
    fwrite(STDERR, 'handler_worker: cannot boot CakePHP and the plugin: ' . $e->getMessage() . "\n");
    exit(DynamoSessionVendor::EXIT_NO_VENDOR);
}

$worker = new DynamoSessionHandlerWorker(
    static function (array $client, array $config) {
        // The config reaches the SDK exactly as decoded from JSON, so odd keys (TABLE_NAME, consistent_read: 0)
        // behave as they would in a PHP array.
        $sdkClient = new Aws\DynamoDb\DynamoDbClient(DynamoSessionHandlerWorker::clientOptions($client));
        return new DynamoSession(Aws\DynamoDb\SessionHandler::fromClient($sdkClient, $config));
    },
    STDERR
);
$worker->run(STDIN, STDOUT);
exit(0);
