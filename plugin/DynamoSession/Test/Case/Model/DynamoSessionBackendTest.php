<?php

use PHPUnit\Framework\TestCase;

/**
 * The plugin class with the real SDK against a real DynamoDB-compatible server (DYNAMO_SESSION_TEST_ENDPOINT, e.g.
 * dynalite). Each test gets a fresh table shaped like the CloudFormation one. No fake of DynamoDB anywhere.
 */
final class DynamoSessionBackendTest extends TestCase
{
    /** @var \Aws\DynamoDb\DynamoDbClient */
    private $client;

    private string $table = '';

    /** @var array<string, string|false> */
    private array $savedEnv = [];

    protected function setUp(): void
    {
        $endpoint = DynamoSessionTestEnvironment::requireEndpoint($this);
        $this->client = DynamoSessionTestEnvironment::client($endpoint);
        $this->table = DynamoSessionTestEnvironment::createTable($this->client);
        foreach (DynamoSessionConfig::VARIABLES as $name) {
            $this->savedEnv[$name] = getenv($name);
            putenv($name);
        }
        $env = [
            DynamoSessionConfig::REGION => 'us-east-1',
            DynamoSessionConfig::ENDPOINT => $endpoint,
            DynamoSessionConfig::TABLE => $this->table,
            DynamoSessionConfig::ACCESS_KEY => 'test',
            DynamoSessionConfig::SECRET_KEY => 'test',
            DynamoSessionConfig::LIFETIME => '600',
            DynamoSessionConfig::RETRIES => '0',
        ];
        foreach ($env as $name => $value) {
            putenv($name . '=' . $value);
        }
        Configure::write('Session.cookie', 'CAKEPHP');
    }

    protected function tearDown(): void
    {
        if ($this->table !== '') {
            DynamoSessionTestEnvironment::deleteTable($this->client, $this->table);
        }
        foreach ($this->savedEnv as $name => $value) {
            putenv($value === false ? $name : $name . '=' . $value);
        }
        if (class_exists('Configure', false)) {
            Configure::delete('Session');
        }
    }

    /**
     * @return array<string, mixed>|null
     */
    private function item(string $key): ?array
    {
        return DynamoSessionTestEnvironment::item($this->client, $this->table, $key);
    }

    public function testWriteReadDestroyRoundTripStoresTheSdkItemLayout(): void
    {
        $plugin = new DynamoSession();
        $this->assertTrue($plugin->open('', 'CAKEPHP'));
        $this->assertSame('', $plugin->read('rt1'));
        $before = time();
        $this->assertTrue($plugin->write('rt1', 'Foo|s:3:"bar";'));

        $item = $this->item('CAKEPHP_rt1');
        $this->assertNotNull($item);
        $this->assertSame(['data', 'expires', 'id'], array_keys(self::sorted($item)));
        $this->assertSame('Foo|s:3:"bar";', $item['data']);
        $this->assertGreaterThanOrEqual($before + 600, (int) $item['expires']);
        $this->assertLessThanOrEqual(time() + 600, (int) $item['expires']);

        $fresh = new DynamoSession();
        $fresh->open('', 'CAKEPHP');
        $this->assertSame('Foo|s:3:"bar";', $fresh->read('rt1'));
        $this->assertTrue($fresh->destroy('rt1'));
        $this->assertNull($this->item('CAKEPHP_rt1'));
    }

    public function testKeyPrefixIsSessionCookieAsInCOmanageThenTheNamePhpPasses(): void
    {
        $plugin = new DynamoSession();
        $plugin->open('', 'PHPSESSID');
        $plugin->read('k1');
        $plugin->write('k1', 'a|i:1;');
        $this->assertNotNull($this->item('CAKEPHP_k1'));
        $this->assertNull($this->item('PHPSESSID_k1'));

        Configure::delete('Session.cookie');
        $outside = new DynamoSession();
        $outside->open('', 'OTHER');
        $outside->read('k2');
        $outside->write('k2', 'a|i:2;');
        $this->assertNotNull($this->item('OTHER_k2'));
    }

    public function testExpiredItemReadsEmptyAndIsDeleted(): void
    {
        $this->client->putItem(['TableName' => $this->table, 'Item' => [
            'id' => ['S' => 'CAKEPHP_old'], 'expires' => ['N' => (string) (time() - 5)], 'data' => ['S' => 'x|i:1;'],
        ]]);
        $plugin = new DynamoSession();
        $plugin->open('', 'CAKEPHP');
        $this->assertSame('', $plugin->read('old'));
        $this->assertNull($this->item('CAKEPHP_old'));
    }

    public function testLockingModeLocksOnReadAndUnlocksOnWrite(): void
    {
        putenv(DynamoSessionConfig::LOCKING . '=true');
        putenv(DynamoSessionConfig::MAX_LOCK_WAIT . '=0');
        $plugin = new DynamoSession();
        $plugin->open('', 'CAKEPHP');
        $this->assertSame('', $plugin->read('L1'));
        $this->assertSame(['id' => 'CAKEPHP_L1', 'lock' => '1'], self::sorted((array) $this->item('CAKEPHP_L1')));

        // A second reader gives up after one attempt (wait 0) and reads empty, with no warning (spec C46, C49).
        $other = new DynamoSession();
        $other->open('', 'CAKEPHP');
        $this->assertSame('', $other->read('L1'));

        $this->assertTrue($plugin->write('L1', 'n|i:1;'));
        $item = (array) $this->item('CAKEPHP_L1');
        $this->assertArrayNotHasKey('lock', $item);
        $this->assertSame('n|i:1;', $item['data']);
    }

    public function testGarbageCollectDeletesExpiredUnlockedItemsOnly(): void
    {
        $now = time();
        $put = function (string $id, array $extra) {
            $this->client->putItem(['TableName' => $this->table, 'Item' => ['id' => ['S' => $id]] + $extra]);
        };
        for ($i = 0; $i < 27; $i++) {
            $put('CAKEPHP_expired' . $i, ['expires' => ['N' => (string) ($now - 100)], 'data' => ['S' => 'x']]);
        }
        $put('CAKEPHP_locked', ['expires' => ['N' => (string) ($now - 100)], 'lock' => ['N' => '1']]);
        $put('CAKEPHP_live', ['expires' => ['N' => (string) ($now + 100)], 'data' => ['S' => 'x']]);

        (new DynamoSession())->garbageCollect();

        $left = [];
        foreach ($this->client->getPaginator('Scan', ['TableName' => $this->table]) as $page) {
            foreach ($page['Items'] as $item) {
                $left[] = $item['id']['S'];
            }
        }
        sort($left);
        $this->assertSame(['CAKEPHP_live', 'CAKEPHP_locked'], $left);
    }

    public function testWriteToMissingTableWarnsAndReturnsFalse(): void
    {
        putenv(DynamoSessionConfig::TABLE . '=no_such_table_here');
        $plugin = new DynamoSession();
        $plugin->open('', 'CAKEPHP');
        $warnings = [];
        set_error_handler(static function (int $no, string $message) use (&$warnings): bool {
            $warnings[] = $message;
            return true;
        }, E_USER_WARNING);
        try {
            $this->assertSame('', $plugin->read('w1'));
            $this->assertFalse($plugin->write('w1', 'a|i:1;'));
        } finally {
            restore_error_handler();
        }
        $this->assertCount(1, $warnings);
        $this->assertStringStartsWith('Error writing session CAKEPHP_w1: ', $warnings[0]);
    }

    /**
     * @param array<string, mixed> $item
     * @return array<string, mixed>
     */
    private static function sorted(array $item): array
    {
        ksort($item);
        return $item;
    }
}
