<?php

use PHPUnit\Framework\TestCase;

/**
 * Where the SDK is looked for, and what the user is told when it is not there. No SDK needed.
 */
final class DynamoSessionVendorTest extends TestCase
{
    /** @var string|false */
    private $saved;

    protected function setUp(): void
    {
        $this->saved = getenv(DynamoSessionVendor::ENV);
        putenv(DynamoSessionVendor::ENV);
    }

    protected function tearDown(): void
    {
        putenv($this->saved === false ? DynamoSessionVendor::ENV : DynamoSessionVendor::ENV . '=' . $this->saved);
    }

    public function testWithoutOverrideTriesExtraDirectoriesThenThePluginVendor(): void
    {
        $this->assertSame(
            ['/a/vendor', DynamoSessionVendor::pluginDir() . DIRECTORY_SEPARATOR . 'Vendor'],
            DynamoSessionVendor::candidates(['/a/vendor/'])
        );
    }

    public function testOverrideIsTheOnlyCandidate(): void
    {
        putenv(DynamoSessionVendor::ENV . '=/opt/lab/vendor/');
        $this->assertSame(['/opt/lab/vendor'], DynamoSessionVendor::candidates(['/a/vendor']));
    }

    public function testFindReturnsTheFirstDirectoryWithAnAutoloader(): void
    {
        $dir = sys_get_temp_dir() . '/dynamo-session-vendor-test-' . getmypid();
        @mkdir($dir . '/with', 0777, true);
        @mkdir($dir . '/without', 0777, true);
        file_put_contents($dir . '/with/autoload.php', "<?php\n");
        try {
            $this->assertSame($dir . '/with', DynamoSessionVendor::find([$dir . '/without', $dir . '/with']));
            putenv(DynamoSessionVendor::ENV . '=' . $dir . '/without');
            // An explicit but wrong override is not papered over by another tree.
            $this->assertNull(DynamoSessionVendor::find([$dir . '/with']));
        } finally {
            unlink($dir . '/with/autoload.php');
            rmdir($dir . '/with');
            rmdir($dir . '/without');
            rmdir($dir);
        }
    }

    public function testInstallHintNamesTheSearchedDirectoriesAndTheComposerCommands(): void
    {
        $hint = DynamoSessionVendor::installHint(['/somewhere/vendor']);
        $this->assertStringContainsString('/somewhere/vendor', $hint);
        $this->assertStringContainsString('composer install --working-dir=' . DynamoSessionVendor::pluginDir(), $hint);
        $this->assertStringContainsString(
            'composer install --ignore-platform-req=php+ --working-dir=fixtures/cakephp-app',
            $hint
        );
        $this->assertStringContainsString('DYNAMO_SESSION_VENDOR', $hint);
    }
}
