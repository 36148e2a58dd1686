<?php

/**
 * Boots just enough of CakePHP 2 to load the plugin the way an application does, for the handler worker and the
 * PHPUnit tests: the core bootstrap with `$boot = false` (no application core.php or bootstrap.php, hence no
 * Session configuration), then CakePlugin::load() of this plugin by path with its bootstrap.
 *
 * Where things are found:
 * - the vendor tree: DynamoSessionVendor's order, with the test app's vendor/ (fixtures/cakephp-app/vendor, what
 *   `composer install --working-dir=fixtures/cakephp-app` makes) tried before the plugin's own Vendor/;
 * - CakePHP: CAKE_CORE_INCLUDE_PATH if set (the directory holding Cake/), else <vendor>/cakephp/cakephp/lib.
 */
final class DynamoSessionCakeBoot
{
    /**
     * @return list<string> vendor directories to try after DYNAMO_SESSION_VENDOR
     */
    public static function extraVendorDirs(): array
    {
        self::requireVendorClass();
        $repoApp = dirname(DynamoSessionVendor::pluginDir(), 2) . DIRECTORY_SEPARATOR . 'fixtures'
            . DIRECTORY_SEPARATOR . 'cakephp-app' . DIRECTORY_SEPARATOR . 'vendor';
        return [$repoApp];
    }

    public static function vendorDir(): ?string
    {
        self::requireVendorClass();
        return DynamoSessionVendor::find(self::extraVendorDirs());
    }

    public static function cakeLib(?string $vendorDir): ?string
    {
        $lib = getenv('CAKE_CORE_INCLUDE_PATH');
        if (!is_string($lib) || $lib === '') {
            if ($vendorDir === null) {
                return null;
            }
            $lib = $vendorDir . DIRECTORY_SEPARATOR . 'cakephp' . DIRECTORY_SEPARATOR . 'cakephp'
                . DIRECTORY_SEPARATOR . 'lib';
        }
        $lib = rtrim($lib, '/\\');
        return is_file($lib . DIRECTORY_SEPARATOR . 'Cake' . DIRECTORY_SEPARATOR . 'bootstrap.php') ? $lib : null;
    }

    /**
     * Why boot() cannot run, or null when it can.
     */
    public static function unavailableReason(): ?string
    {
        $vendor = self::vendorDir();
        if ($vendor === null) {
            return DynamoSessionVendor::installHint(self::extraVendorDirs());
        }
        if (self::cakeLib($vendor) === null) {
            return 'CakePHP 2 (cakephp/cakephp) was not found in ' . $vendor . '/cakephp/cakephp/lib and'
                . ' CAKE_CORE_INCLUDE_PATH is not set. Install the test app\'s vendor tree with'
                . ' `composer install --ignore-platform-req=php+ --working-dir=fixtures/cakephp-app`, or set'
                . ' CAKE_CORE_INCLUDE_PATH to the directory that holds Cake/.';
        }
        return null;
    }

    /**
     * Loads the vendor autoloader, boots the CakePHP core and loads the plugin. Idempotent.
     *
     * @throws RuntimeException when the vendor tree or CakePHP is missing (the message says how to install them)
     */
    public static function boot(): void
    {
        if (class_exists('CakePlugin', false) && CakePlugin::loaded('DynamoSession')) {
            return;
        }
        $reason = self::unavailableReason();
        if ($reason !== null) {
            throw new RuntimeException($reason);
        }
        $vendor = (string) self::vendorDir();
        $lib = (string) self::cakeLib($vendor);
        if (!class_exists(DynamoSessionVendor::SDK_CLASS)) {
            require_once $vendor . DIRECTORY_SEPARATOR . 'autoload.php';
        }

        $pluginDir = DynamoSessionVendor::pluginDir();
        // CakePHP's core bootstrap derives its paths from these. APP is a scratch "app" directory that does not
        // exist, so nothing of a real application is read; it and TMP are under the system temp directory so a
        // read-only checkout works.
        $scratch = sys_get_temp_dir() . DIRECTORY_SEPARATOR . 'dynamo-session-cake-' . getmypid();
        $constants = [
            'DS' => DIRECTORY_SEPARATOR,
            'ROOT' => $scratch,
            'APP_DIR' => 'app',
            'WEBROOT_DIR' => 'webroot',
            'WWW_ROOT' => $scratch . DIRECTORY_SEPARATOR . 'app' . DIRECTORY_SEPARATOR . 'webroot'
                . DIRECTORY_SEPARATOR,
            'TMP' => $scratch . DIRECTORY_SEPARATOR,
            'CAKE_CORE_INCLUDE_PATH' => $lib,
        ];
        foreach ($constants as $name => $value) {
            if (!defined($name)) {
                define($name, $value);
            }
        }
        self::includeCore($lib);
        CakePlugin::load('DynamoSession', ['path' => $pluginDir . DIRECTORY_SEPARATOR, 'bootstrap' => true]);
    }

    private static function requireVendorClass(): void
    {
        if (!class_exists('DynamoSessionVendor', false)) {
            require_once dirname(__DIR__, 2) . DIRECTORY_SEPARATOR . 'Lib' . DIRECTORY_SEPARATOR
                . 'DynamoSessionVendor.php';
        }
    }

    private static function includeCore(string $lib): void
    {
        // `$boot = false` makes Configure::bootstrap() skip the application's core.php and bootstrap.php.
        $boot = false;
        require_once $lib . DIRECTORY_SEPARATOR . 'Cake' . DIRECTORY_SEPARATOR . 'bootstrap.php';
    }
}
