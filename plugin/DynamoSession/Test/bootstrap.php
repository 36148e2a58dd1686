<?php

/*
 * PHPUnit bootstrap. Loads only plain-PHP classes; tests that need the SDK, CakePHP or a DynamoDB endpoint ask
 * DynamoSessionTestEnvironment, which skips them with the reason when those are missing.
 */

error_reporting(E_ALL);

$pluginDir = dirname(__DIR__);
require_once $pluginDir . '/Lib/DynamoSessionConfigException.php';
require_once $pluginDir . '/Lib/DynamoSessionConfig.php';
require_once $pluginDir . '/Lib/DynamoSessionVendor.php';
require_once $pluginDir . '/Test/Support/DynamoSessionCakeBoot.php';
require_once $pluginDir . '/Test/Support/DynamoSessionTestEnvironment.php';
require_once $pluginDir . '/Test/Worker/DynamoSessionWorkerProtocolException.php';
require_once $pluginDir . '/Test/Worker/DynamoSessionWorkerClock.php';
require_once $pluginDir . '/Test/Worker/DynamoSessionHandlerWorker.php';
unset($pluginDir);
