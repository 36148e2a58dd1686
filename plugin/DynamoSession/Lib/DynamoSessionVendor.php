<?php

/**
 * Finds the Composer vendor tree that holds the AWS SDK for PHP (and, for the test app, the worker and the tests,
 * CakePHP). Plain PHP, no SDK and no CakePHP needed.
 *
 * Search order, first match wins:
 * 1. the SDK is already autoloadable (the application required its own vendor/autoload.php): nothing to load, so
 *    two copies of the SDK never meet in one process;
 * 2. the directory named by DYNAMO_SESSION_VENDOR (must contain autoload.php; a wrong value is an error, never a
 *    silent fall-back to another tree);
 * 3. the extra directories the caller passes (the test app's vendor/ for the worker and the tests);
 * 4. the plugin's own Vendor/ (`composer install` run inside the plugin, the layout COmanage's
 *    local/Plugin/DynamoSession uses).
 */
final class DynamoSessionVendor
{
    public const ENV = 'DYNAMO_SESSION_VENDOR';

    /** Exit status of the command-line tools (the handler worker) when no vendor tree is found. */
    public const EXIT_NO_VENDOR = 3;

    public const SDK_CLASS = 'Aws\\DynamoDb\\SessionHandler';

    /**
     * @param list<string> $extra vendor directories to try after DYNAMO_SESSION_VENDOR
     * @return list<string> the vendor directories that would be tried, in order
     */
    public static function candidates(array $extra = []): array
    {
        $dirs = [];
        $fromEnv = getenv(self::ENV);
        if (is_string($fromEnv) && $fromEnv !== '') {
            // An explicit choice is the only candidate: falling back would test a tree nobody asked for.
            return [rtrim($fromEnv, '/\\')];
        }
        foreach ($extra as $dir) {
            $dirs[] = rtrim($dir, '/\\');
        }
        $dirs[] = self::pluginDir() . DIRECTORY_SEPARATOR . 'Vendor';
        return $dirs;
    }

    /**
     * @param list<string> $extra
     * @return string|null the first candidate vendor directory that has an autoload.php
     */
    public static function find(array $extra = []): ?string
    {
        foreach (self::candidates($extra) as $dir) {
            if (is_file($dir . DIRECTORY_SEPARATOR . 'autoload.php')) {
                return $dir;
            }
        }
        return null;
    }

    /**
     * Makes the SDK autoloadable if it is not already.
     *
     * @param list<string> $extra
     * @return bool whether the SDK's SessionHandler class can now be loaded
     */
    public static function load(array $extra = []): bool
    {
        if (class_exists(self::SDK_CLASS)) {
            return true;
        }
        $dir = self::find($extra);
        if ($dir === null) {
            return false;
        }
        require_once $dir . DIRECTORY_SEPARATOR . 'autoload.php';
        return class_exists(self::SDK_CLASS);
    }

    /**
     * What to do when the vendor tree is missing, naming the directories that were searched.
     *
     * @param list<string> $extra
     */
    public static function installHint(array $extra = []): string
    {
        return 'The AWS SDK for PHP (aws/aws-sdk-php) was not found; searched for autoload.php in: '
            . implode(', ', self::candidates($extra)) . '. Install it with'
            . ' `composer install --working-dir=' . self::pluginDir() . '` (the plugin\'s own Vendor/, as in a'
            . ' COmanage local/Plugin install), or in this repository with'
            . ' `composer install --ignore-platform-req=php+ --working-dir=fixtures/cakephp-app` (SDK and CakePHP'
            . ' for the test app, the handler worker and the tests), or set ' . self::ENV . ' to a vendor directory'
            . ' that has both.';
    }

    public static function pluginDir(): string
    {
        return dirname(__DIR__);
    }
}
