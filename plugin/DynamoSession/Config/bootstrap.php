<?php

/*
 * DynamoSession plugin bootstrap: make the AWS SDK for PHP autoloadable.
 *
 * Lib/DynamoSessionVendor.php documents the search order (an SDK the application already loaded, then
 * DYNAMO_SESSION_VENDOR, then this plugin's own Vendor/). A missing SDK is deliberately not an error here:
 * COmanage Registry runs every plugin's bootstrap even when sessions are file-based. The DynamoSession handler
 * reports it, with the install command, when it is first used.
 */

require_once dirname(__DIR__) . DIRECTORY_SEPARATOR . 'Lib' . DIRECTORY_SEPARATOR . 'DynamoSessionVendor.php';

DynamoSessionVendor::load();
