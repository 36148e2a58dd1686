<?php

use PHPUnit\Framework\TestCase;

/**
 * The plugin class inside CakePHP with the real AWS SDK, no DynamoDB traffic: how CakePHP loads it, what it builds
 * from the environment, how it fails. Skipped, with the composer command, when the vendor tree is absent.
 */
final class DynamoSessionTest extends TestCase
{
    /** @var array<string, string|false> */
    private array $savedEnv = [];

    protected function setUp(): void
    {
        DynamoSessionTestEnvironment::requireCakeAndSdk($this);
        foreach (DynamoSessionConfig::VARIABLES as $name) {
            $this->savedEnv[$name] = getenv($name);
            putenv($name);
        }
        putenv(DynamoSessionConfig::REGION . '=us-east-1');
        putenv(DynamoSessionConfig::TABLE . '=dynamo_cakephp_sessions');
        Configure::delete('Session');
    }

    protected function tearDown(): void
    {
        foreach ($this->savedEnv as $name => $value) {
            putenv($value === false ? $name : $name . '=' . $value);
        }
        if (class_exists('Configure', false)) {
            Configure::delete('Session');
        }
    }

    /**
     * @return object the SDK connection inside the plugin's SDK handler
     */
    private static function connection(DynamoSession $plugin)
    {
        $property = new ReflectionProperty(\Aws\DynamoDb\SessionHandler::class, 'connection');
        $property->setAccessible(true);
        return $property->getValue($plugin->sessionHandler());
    }

    public function testCakeSessionLoadsItFromThePluginEngineName(): void
    {
        // The exact code path of 'handler' => ['engine' => 'DynamoSession.DynamoSession'] (spec §4.2).
        App::uses('CakeSession', 'Model/Datasource');
        $getHandler = new ReflectionMethod('CakeSession', '_getHandler');
        $getHandler->setAccessible(true);
        $handler = $getHandler->invoke(null, 'DynamoSession.DynamoSession');

        $this->assertInstanceOf('DynamoSession', $handler);
        $this->assertInstanceOf('CakeSessionHandlerInterface', $handler);
        $this->assertFalse($handler->isPlugin());
    }

    public function testConstructionBuildsNoSdkObjectAndAcceptsClassRegistrySettings(): void
    {
        // COmanage's ClassRegistry::init() passes a settings array (spec C92): ignored, no SDK handler built yet.
        $plugin = new DynamoSession(['alias' => 'DynamoSession', 'table' => null]);
        $property = new ReflectionProperty(DynamoSession::class, 'handler');
        $property->setAccessible(true);
        $this->assertNull($property->getValue($plugin));
        $this->assertNull($plugin->cmPluginType);
    }

    public function testClassRegistryInstanceReadsNoEnvironmentSoFileSessionsStillRenderMenus(): void
    {
        // COmanage with file sessions (the variables unset) builds its menu through
        // ClassRegistry::init('DynamoSession.DynamoSession'); CakePHP's class map cache can still resolve it to this
        // class after DynamoDB sessions were on. Seen in COmanage 4.6.1 as an HTTP 500 on every menu page.
        putenv(DynamoSessionConfig::REGION);
        putenv(DynamoSessionConfig::TABLE);
        $plugin = new DynamoSession(
            ['class' => 'DynamoSession.DynamoSession', 'alias' => 'DynamoSession', 'id' => false, 'table' => null,
             'ds' => null, 'plugin' => 'DynamoSession']
        );
        $this->assertFalse($plugin->isPlugin());
        $this->assertNull($plugin->cmPluginType);
        $this->assertNull($plugin->config());
    }

    public function testClassRegistryInstanceValidatesTheEnvironmentOnFirstUse(): void
    {
        putenv(DynamoSessionConfig::TABLE);
        $plugin = new DynamoSession(['alias' => 'DynamoSession']);
        try {
            $plugin->sessionHandler();
            $this->fail('expected DynamoSessionConfigException');
        } catch (DynamoSessionConfigException $e) {
            $this->assertSame([DynamoSessionConfig::TABLE], $e->getVariables());
        }
        putenv(DynamoSessionConfig::TABLE . '=dynamo_cakephp_sessions');
        $this->assertInstanceOf(\Aws\DynamoDb\SessionHandler::class, $plugin->sessionHandler());
        $this->assertSame('dynamo_cakephp_sessions', $plugin->config()->handlerConfig()['table_name']);
    }

    public function testBadEnvironmentFailsAtConstructionWithOneExceptionNamingTheVariables(): void
    {
        putenv(DynamoSessionConfig::REGION);
        putenv(DynamoSessionConfig::LOCKING . '=perhaps');
        try {
            new DynamoSession();
            $this->fail('expected DynamoSessionConfigException');
        } catch (DynamoSessionConfigException $e) {
            $this->assertSame([DynamoSessionConfig::REGION, DynamoSessionConfig::LOCKING], $e->getVariables());
        }
    }

    public function testStandardModeHandlerCarriesTheCOmanageItemLayout(): void
    {
        $connection = self::connection(new DynamoSession());

        $this->assertInstanceOf(\Aws\DynamoDb\StandardSessionConnection::class, $connection);
        $this->assertNotInstanceOf(\Aws\DynamoDb\LockingSessionConnection::class, $connection);
        $this->assertSame('dynamo_cakephp_sessions', $connection->getTableName());
        $this->assertSame('id', $connection->getHashKey());
        $this->assertSame('data', $connection->getDataAttribute());
        $this->assertSame('expires', $connection->getSessionLifetimeAttribute());
        $this->assertTrue($connection->isConsistentRead());
        $this->assertFalse($connection->isLocking());
    }

    public function testLockingAndTuningVariablesReachTheSdk(): void
    {
        putenv(DynamoSessionConfig::LOCKING . '=true');
        putenv(DynamoSessionConfig::LIFETIME . '=600');
        putenv(DynamoSessionConfig::MAX_LOCK_WAIT . '=2');
        putenv(DynamoSessionConfig::CONSISTENT_READ . '=false');
        $connection = self::connection(new DynamoSession());

        $this->assertInstanceOf(\Aws\DynamoDb\LockingSessionConnection::class, $connection);
        $this->assertSame(600, $connection->getSessionLifetime());
        $this->assertSame(2, $connection->getMaxLockWaitTime());
        $this->assertFalse($connection->isConsistentRead());
    }

    /**
     * In a separate process: session.* ini settings cannot be changed once PHPUnit has printed.
     *
     * @runInSeparateProcess
     * @preserveGlobalState disabled
     */
    public function testLifetimeDefaultsToGcMaxlifetimeWhenTheHandlerIsBuilt(): void
    {
        $this->assertNotFalse(ini_set('session.gc_maxlifetime', '1440'));
        $plugin = new DynamoSession();
        // The SDK object is built on first use, after CakePHP's ini_set of the Session block, so it sees the value
        // CakePHP set (COmanage: 86400), as it does when COmanage's wrapper builds it in its constructor.
        $this->assertNotFalse(ini_set('session.gc_maxlifetime', '86400'));
        $this->assertSame(86400, self::connection($plugin)->getSessionLifetime());
    }

    public function testUnsetEndpointGivesTheRegionalEndpointWhereCOmanagesFalseThrows(): void
    {
        $options = DynamoSessionConfig::fromEnvironment()->clientOptions();
        $client = new \Aws\DynamoDb\DynamoDbClient($options);
        $this->assertSame('https://dynamodb.us-east-1.amazonaws.com', (string) $client->getEndpoint());

        // Spec C90, the reason the endpoint is left out instead of passed through getenv().
        $this->expectException(InvalidArgumentException::class);
        new \Aws\DynamoDb\DynamoDbClient(['endpoint' => getenv(DynamoSessionConfig::ENDPOINT)] + $options);
    }

    public function testStaticCredentialsAndEndpointReachTheClient(): void
    {
        putenv(DynamoSessionConfig::ENDPOINT . '=http://127.0.0.1:9');
        putenv(DynamoSessionConfig::ACCESS_KEY . '=AKIDEXAMPLE');
        putenv(DynamoSessionConfig::SECRET_KEY . '=secret');
        putenv(DynamoSessionConfig::RETRIES . '=0');
        $client = new \Aws\DynamoDb\DynamoDbClient(DynamoSessionConfig::fromEnvironment()->clientOptions());

        $this->assertSame('http://127.0.0.1:9', (string) $client->getEndpoint());
        // Static credentials resolve without any network lookup.
        $credentials = $client->getCredentials()->wait();
        $this->assertSame('AKIDEXAMPLE', $credentials->getAccessKeyId());
        $this->assertSame('secret', $credentials->getSecretKey());
    }

    public function testInjectedSdkHandlerIsUsedAsIs(): void
    {
        $client = new \Aws\DynamoDb\DynamoDbClient([
            'version' => '2012-08-10', 'region' => 'us-east-1', 'credentials' => ['key' => 'k', 'secret' => 's'],
        ]);
        $sdk = \Aws\DynamoDb\SessionHandler::fromClient($client, ['table_name' => 'injected']);
        $plugin = new DynamoSession($sdk);
        $this->assertSame($sdk, $plugin->sessionHandler());
        $this->assertNull($plugin->config());
        // gc() is the SDK's no-op: true, and no request (spec C37).
        $this->assertTrue($plugin->gc(1440));
    }
}
