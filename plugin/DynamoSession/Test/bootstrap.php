<?php

/*
 * PHPUnit bootstrap. Loads only plain-PHP classes; tests that need the SDK, CakePHP or a DynamoDB endpoint ask
 * DynamoSessionTestEnvironment, which skips them with the reason when those are missing. The harness's handler
 * worker (fixtures/php-worker, not part of the plugin) reuses this file for its own tests.
 */

error_reporting(E_ALL);

$pluginDir = dirname(__DIR__);
require_once $pluginDir . '/Lib/DynamoSessionConfigException.php';
require_once $pluginDir . '/Lib/DynamoSessionConfig.php';
require_once $pluginDir . '/Lib/DynamoSessionVendor.php';
require_once $pluginDir . '/Lib/DynamoSessionCheck.php';
require_once $pluginDir . '/Test/Support/DynamoSessionCakeBoot.php';
require_once $pluginDir . '/Test/Support/DynamoSessionTestEnvironment.php';
unset($pluginDir);
