<?php

use PHPUnit\Framework\TestCase;

/**
 * The `check` logic with the real AWS SDK client: against a real DynamoDB-compatible server
 * (DYNAMO_SESSION_TEST_ENDPOINT) for a good and a missing table, and, with the SDK alone, against endpoints that
 * refuse connections or never answer (which also shows that the timeout and retry variables reach the SDK).
 */
final class DynamoSessionCheckBackendTest extends TestCase
{
    private const SESSION = ['timeout' => 480, 'ini' => ['session.gc_maxlifetime' => 86400]];

    /** @var \Aws\DynamoDb\DynamoDbClient|null */
    private $client = null;

    private string $table = '';

    protected function tearDown(): void
    {
        if ($this->client !== null && $this->table !== '') {
            DynamoSessionTestEnvironment::deleteTable($this->client, $this->table);
        }
    }

    /**
     * @param array<string, string> $env
     * @return list<array{status: string, check: string, message: string}>
     */
    private static function check(array $env): array
    {
        $env += [
            DynamoSessionConfig::REGION => 'us-east-1',
            DynamoSessionConfig::ACCESS_KEY => 'test',
            DynamoSessionConfig::SECRET_KEY => 'test',
        ];
        $check = new DynamoSessionCheck(
            static fn (DynamoSessionConfig $config) => new \Aws\DynamoDb\DynamoDbClient($config->clientOptions()),
            self::SESSION,
            '1440',
            $env
        );
        return $check->run();
    }

    /**
     * @param list<array{status: string, check: string, message: string}> $findings
     * @return list<string>
     */
    private static function shape(array $findings): array
    {
        return array_map(static fn (array $f): string => $f['status'] . ' ' . $f['check'], $findings);
    }

    public function testAGoodTableHasNoFailureAndKeepsNoProbe(): void
    {
        $endpoint = DynamoSessionTestEnvironment::requireEndpoint($this);
        $this->client = DynamoSessionTestEnvironment::client($endpoint);
        $this->table = DynamoSessionTestEnvironment::createTable($this->client);

        $findings = self::check([
            DynamoSessionConfig::ENDPOINT => $endpoint,
            DynamoSessionConfig::TABLE => $this->table,
            DynamoSessionConfig::RETRIES => '0',
            DynamoSessionConfig::TIMEOUT => '5',
        ]);

        $lines = implode("\n", array_map([DynamoSessionCheck::class, 'line'], $findings));
        $this->assertFalse(DynamoSessionCheck::failed($findings), $lines);
        $this->assertStringContainsString('OK   table: ' . $this->table . ': key schema id S HASH', $lines);
        $this->assertStringContainsString('OK   billing: PAY_PER_REQUEST', $lines);
        foreach (array_keys(DynamoSessionCheck::ACTIONS) as $action) {
            $this->assertStringContainsString('OK   iam: dynamodb:' . $action . ' allowed', $lines);
        }
        $this->assertStringContainsString('OK   latency: round trip', $lines);
        $this->assertSame(0, $this->client->scan(['TableName' => $this->table])['Count'], 'the probe is gone');
    }

    public function testAWrongTableNameFailsAndWritesNothing(): void
    {
        $endpoint = DynamoSessionTestEnvironment::requireEndpoint($this);

        $findings = self::check([
            DynamoSessionConfig::ENDPOINT => $endpoint,
            DynamoSessionConfig::TABLE => 'no_such_table_' . getmypid(),
            DynamoSessionConfig::RETRIES => '0',
        ]);

        $this->assertSame(
            ['OK config', 'OK credentials', 'FAIL table', 'WARN client', 'OK session'],
            self::shape($findings)
        );
        $this->assertStringContainsString('does not exist in us-east-1 at ' . $endpoint, $findings[2]['message']);
    }

    public function testARefusedConnectionFailsOnceAndAtOnceWithoutRetries(): void
    {
        DynamoSessionTestEnvironment::requireCakeAndSdk($this);
        $started = microtime(true);

        $findings = self::check([
            DynamoSessionConfig::ENDPOINT => 'http://127.0.0.1:1',
            DynamoSessionConfig::TABLE => 'dynamo_cakephp_sessions',
            DynamoSessionConfig::RETRIES => '0',
        ]);

        $this->assertLessThan(5.0, microtime(true) - $started);
        $this->assertSame(
            ['OK config', 'OK credentials', 'FAIL endpoint', 'WARN client', 'OK session'],
            self::shape($findings)
        );
        $this->assertStringStartsWith(
            'cannot reach http://127.0.0.1:1: DescribeTable gave up after',
            $findings[2]['message']
        );
        $this->assertStringContainsString('cURL error 7', $findings[2]['message']);
    }

    public function testTheTimeoutVariableBoundsAnEndpointThatNeverAnswers(): void
    {
        DynamoSessionTestEnvironment::requireCakeAndSdk($this);
        // Listening but never accepting: the kernel completes the handshake, the request is sent, no answer comes.
        $server = stream_socket_server('tcp://127.0.0.1:0', $errno, $error);
        $this->assertNotFalse($server, $error);
        $address = stream_socket_get_name($server, false);
        $started = microtime(true);
        try {
            $findings = self::check([
                DynamoSessionConfig::ENDPOINT => 'http://' . $address,
                DynamoSessionConfig::TABLE => 'dynamo_cakephp_sessions',
                DynamoSessionConfig::RETRIES => '1',
                DynamoSessionConfig::TIMEOUT => '0.5',
            ]);
        } finally {
            fclose($server);
        }
        $elapsed = microtime(true) - $started;

        // Two attempts of 0.5 s and no back-off before the first retry.
        $this->assertGreaterThanOrEqual(0.9, $elapsed);
        $this->assertLessThan(4.0, $elapsed);
        $this->assertSame('FAIL endpoint', self::shape($findings)[2]);
        $this->assertStringContainsString('cURL error 28', $findings[2]['message']);
        $this->assertStringStartsWith(
            'timeout 0.5 s, connect timeout within the timeout, 1 retry',
            $findings[3]['message']
        );
    }
}
