<?php

use PHPUnit\Framework\TestCase;

/**
 * handler_worker.php as the harness runs it (a child process speaking JSON lines), with the real SDK, against a
 * real DynamoDB-compatible server (DYNAMO_SESSION_TEST_ENDPOINT).
 */
final class HandlerWorkerSdkTest extends TestCase
{
    /** @var \Aws\DynamoDb\DynamoDbClient */
    private $client;

    private string $table = '';

    private string $endpoint = '';

    protected function setUp(): void
    {
        $this->endpoint = DynamoSessionTestEnvironment::requireEndpoint($this);
        $this->client = DynamoSessionTestEnvironment::client($this->endpoint);
        $this->table = DynamoSessionTestEnvironment::createTable($this->client);
    }

    protected function tearDown(): void
    {
        if ($this->table !== '') {
            DynamoSessionTestEnvironment::deleteTable($this->client, $this->table);
        }
    }

    /**
     * @param list<array<string, mixed>> $requests
     * @return list<array<string, mixed>>
     */
    private function converse(array $requests): array
    {
        $script = dirname(__DIR__, 2) . '/Worker/handler_worker.php';
        $process = proc_open(
            [PHP_BINARY, $script],
            [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
            $pipes
        );
        $this->assertIsResource($process);
        $responses = [];
        // One request at a time, reading each response before sending the next, as the harness does.
        foreach ($requests as $request) {
            fwrite($pipes[0], json_encode($request) . "\n");
            fflush($pipes[0]);
            $line = fgets($pipes[1]);
            if ($line === false) {
                // Only now read stderr: reading it earlier would block until the worker exits.
                fclose($pipes[0]);
                $this->fail('no response to ' . json_encode($request) . '; stderr: ' . stream_get_contents($pipes[2]));
            }
            $responses[] = json_decode($line, true, 64, JSON_THROW_ON_ERROR);
        }
        fclose($pipes[0]);
        $this->assertSame('', stream_get_contents($pipes[1]), 'nothing but responses on stdout');
        fclose($pipes[1]);
        fclose($pipes[2]);
        $this->assertSame(0, proc_close($process));
        return $responses;
    }

    /**
     * @param array<string, mixed> $config
     * @return array<string, mixed>
     */
    private function newHandler(array $config, array $ini = ['session.gc_maxlifetime' => '1440']): array
    {
        return [
            'op' => 'new_handler',
            'client' => ['endpoint' => $this->endpoint, 'region' => 'us-east-1', 'key' => 'k', 'secret' => 's',
                'retries' => 0],
            'config' => $config,
            'ini' => $ini,
        ];
    }

    public function testReadWriteCloseDestroySequence(): void
    {
        $data = "a|i:1;\x80\xff";
        $r = $this->converse([
            $this->newHandler(['table_name' => $this->table, 'data_attribute_type' => 'binary']),
            ['op' => 'open', 'save_path' => '', 'name' => 'CAKEPHP'],
            ['op' => 'read', 'id' => 'w1'],
            ['op' => 'write', 'id' => 'w1', 'data_b64' => base64_encode($data)],
            ['op' => 'close', 'session_id' => 'w1'],
            ['op' => 'read', 'id' => 'w1'],
            ['op' => 'destroy', 'id' => 'w1'],
            ['op' => 'gc', 'max_lifetime' => 1440],
            ['op' => 'garbage_collect'],
        ]);
        $this->assertSame([true, true, ['b64' => ''], true, true], array_column(array_slice($r, 0, 5), 'value'));
        $this->assertSame(['b64' => base64_encode($data)], $r[5]['value']);
        $this->assertSame([true, true, null], array_column(array_slice($r, 6), 'value'));
        foreach ($r as $response) {
            $this->assertSame([], $response['warnings']);
            $this->assertNull($response['exception']);
        }
        $this->assertNull(DynamoSessionTestEnvironment::item($this->client, $this->table, 'CAKEPHP_w1'));
    }

    public function testIniLifetimeIsReadWhenTheHandlerIsBuilt(): void
    {
        $before = time();
        $this->converse([
            $this->newHandler(['table_name' => $this->table], ['session.gc_maxlifetime' => '300']),
            ['op' => 'open', 'save_path' => '', 'name' => 'CAKEPHP'],
            ['op' => 'write', 'id' => 'life', 'data_b64' => base64_encode('x')],
        ]);
        $item = DynamoSessionTestEnvironment::item($this->client, $this->table, 'CAKEPHP_life');
        $this->assertNotNull($item);
        $this->assertGreaterThanOrEqual($before + 300, (int) $item['expires']);
        $this->assertLessThanOrEqual(time() + 300, (int) $item['expires']);
    }

    public function testCloseOutsideASessionTouchesTheBareSessionName(): void
    {
        // Spec C32: session_id() is '' so the key is just the name.
        $r = $this->converse([
            $this->newHandler(['table_name' => $this->table]),
            ['op' => 'open', 'save_path' => '', 'name' => 'CAKEPHP'],
            ['op' => 'close', 'session_id' => ''],
        ]);
        $this->assertTrue($r[2]['value']);
        $this->assertNotNull(DynamoSessionTestEnvironment::item($this->client, $this->table, 'CAKEPHP'));
    }

    public function testOddConfigKeysReachTheSdkUnchanged(): void
    {
        $r = $this->converse([
            $this->newHandler(['TABLE_NAME' => $this->table, 'consistent_read' => 0]),
            ['op' => 'open', 'save_path' => '', 'name' => 'CAKEPHP'],
            ['op' => 'read', 'id' => 'x'],
            $this->newHandler(['TABLE_NAME' => $this->table]),
            ['op' => 'open', 'save_path' => '', 'name' => 'CAKEPHP'],
            ['op' => 'write', 'id' => 'x', 'data_b64' => base64_encode('v')],
        ]);
        // consistent_read 0 fails SDK validation (spec C07); TABLE_NAME sets the table (spec C04).
        $this->assertSame('InvalidArgumentException', $r[2]['exception']['class']);
        $this->assertTrue($r[5]['value']);
        $this->assertNotNull(DynamoSessionTestEnvironment::item($this->client, $this->table, 'CAKEPHP_x'));
    }

    public function testFailuresComeBackAsWarningsAndExceptionsWithAwsCodes(): void
    {
        $r = $this->converse([
            $this->newHandler(['table_name' => 'missing_' . $this->table]),
            ['op' => 'open', 'save_path' => '', 'name' => 'CAKEPHP'],
            ['op' => 'read', 'id' => 'f'],
            ['op' => 'write', 'id' => 'f', 'data_b64' => base64_encode('v')],
            ['op' => 'garbage_collect'],
        ]);
        // read swallows the error silently; write warns and returns false; garbageCollect throws (spec §1.9).
        $this->assertSame(['b64' => ''], $r[2]['value']);
        $this->assertSame([], $r[2]['warnings']);
        $this->assertFalse($r[3]['value']);
        $this->assertCount(1, $r[3]['warnings']);
        $this->assertStringStartsWith('Error writing session CAKEPHP_f: ', $r[3]['warnings'][0]);
        $this->assertSame('DynamoDbException', $r[4]['exception']['class']);
        $this->assertSame('ResourceNotFoundException', $r[4]['exception']['code']);
    }
}
