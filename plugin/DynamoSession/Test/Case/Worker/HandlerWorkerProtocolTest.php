<?php

use PHPUnit\Framework\TestCase;

/**
 * The JSON-lines protocol layer of the handler worker (docs/seams.md). These tests replace the plugin object with
 * a small recorder: they check framing, validation and error reporting, and claim nothing about DynamoDB.
 * HandlerWorkerSdkTest runs the same worker against a real DynamoDB-compatible server.
 */
final class HandlerWorkerProtocolTest extends TestCase
{
    /** @var list<array{0: string, 1: array<int, mixed>}> */
    private array $calls = [];

    /** @var resource */
    private $stderr;

    /** @var string|false */
    private $precision;

    protected function setUp(): void
    {
        $this->stderr = fopen('php://memory', 'w+');
        $this->precision = ini_get('precision');
    }

    protected function tearDown(): void
    {
        ini_set('precision', (string) $this->precision);
    }

    private function worker(): DynamoSessionHandlerWorker
    {
        $calls = &$this->calls;
        return new DynamoSessionHandlerWorker(
            static function (array $client, array $config) use (&$calls) {
                $calls[] = ['new', [$client, $config]];
                return new class ($calls) {
                    /** @var array<int, mixed> */
                    private $calls;

                    /** @param array<int, mixed> $calls */
                    public function __construct(array &$calls)
                    {
                        $this->calls = &$calls;
                    }

                    public function open(string $path, string $name): bool
                    {
                        $this->calls[] = ['open', [$path, $name]];
                        return true;
                    }

                    public function read(string $id): string
                    {
                        $this->calls[] = ['read', [$id]];
                        return "bytes\x00\xff";
                    }

                    public function write(string $id, string $data): bool
                    {
                        $this->calls[] = ['write', [$id, $data]];
                        trigger_error('Error writing session CAKEPHP_' . $id . ': simulated', E_USER_WARNING);
                        return false;
                    }

                    public function close(): bool
                    {
                        $this->calls[] = ['close', [session_id()]];
                        return true;
                    }

                    public function destroy(string $id): bool
                    {
                        throw new DomainException('destroy failed for ' . $id);
                    }

                    public function gc(int $max): bool
                    {
                        $this->calls[] = ['gc', [$max]];
                        return true;
                    }

                    public function garbageCollect(): void
                    {
                        $this->calls[] = ['garbageCollect', []];
                    }
                };
            },
            $this->stderr
        );
    }

    /**
     * @param list<string> $lines
     * @return list<array<string, mixed>>
     */
    private function runLines(array $lines, ?DynamoSessionHandlerWorker $worker = null): array
    {
        $worker = $worker ?? $this->worker();
        $in = fopen('php://memory', 'w+');
        fwrite($in, implode("\n", $lines) . "\n");
        rewind($in);
        $out = fopen('php://memory', 'w+');
        $worker->run($in, $out);
        rewind($out);
        $responses = [];
        while (($line = fgets($out)) !== false) {
            $responses[] = json_decode($line, true, 64, JSON_THROW_ON_ERROR);
        }
        return $responses;
    }

    private const NEW_HANDLER = '{"op":"new_handler","client":{"endpoint":"http://127.0.0.1:1","region":"us-east-1",'
        . '"key":"k","secret":"s","retries":null},"config":{"TABLE_NAME":"t","consistent_read":0},'
        . '"ini":{"precision":"13"}}';

    public function testOneResponsePerRequestInOrderBlankLinesIgnored(): void
    {
        $responses = $this->runLines([
            self::NEW_HANDLER,
            '',
            '{"op":"open","save_path":"","name":"CAKEPHP"}',
            '{"op":"read","id":"abc"}',
            '{"op":"gc","max_lifetime":1440}',
            '{"op":"garbage_collect"}',
        ]);
        $this->assertCount(5, $responses);
        $this->assertSame(['value' => true, 'warnings' => [], 'exception' => null], $responses[0]);
        $this->assertTrue($responses[1]['value']);
        $this->assertSame(['b64' => base64_encode("bytes\x00\xff")], $responses[2]['value']);
        $this->assertTrue($responses[3]['value']);
        $this->assertSame(['value' => null, 'warnings' => [], 'exception' => null], $responses[4]);
    }

    public function testConfigReachesTheFactoryExactlyAsDecoded(): void
    {
        $this->runLines([self::NEW_HANDLER]);
        $this->assertSame(['TABLE_NAME' => 't', 'consistent_read' => 0], $this->calls[0][1][1]);
        // session.* settings cannot be changed here once PHPUnit has printed something (headers sent); the real
        // worker writes to the STDOUT stream, which does not count as output, and HandlerWorkerSdkTest covers it.
        $this->assertSame('13', ini_get('precision'));
    }

    public function testWriteDecodesBase64AndCapturesUserWarnings(): void
    {
        $write = '{"op":"write","id":"x","data_b64":"' . base64_encode("a|i:1;\x80") . '"}';
        $responses = $this->runLines([self::NEW_HANDLER, $write]);
        $this->assertSame(['write', ['x', "a|i:1;\x80"]], $this->calls[1]);
        $this->assertFalse($responses[1]['value']);
        $this->assertSame(['Error writing session CAKEPHP_x: simulated'], $responses[1]['warnings']);
        $this->assertNull($responses[1]['exception']);
    }

    /**
     * In a separate process: PHP refuses session_id($x) once output was sent, and PHPUnit has printed by now.
     *
     * @runInSeparateProcess
     * @preserveGlobalState disabled
     */
    public function testCloseRunsWithTheRequestedSessionId(): void
    {
        $this->runLines([
            self::NEW_HANDLER,
            '{"op":"close","session_id":"abc"}',
            '{"op":"close","session_id":""}',
        ]);
        $this->assertSame(['close', ['abc']], $this->calls[1]);
        $this->assertSame(['close', ['']], $this->calls[2]);
    }

    public function testHandlerExceptionsAreReportedWithShortClassName(): void
    {
        $responses = $this->runLines([self::NEW_HANDLER, '{"op":"destroy","id":"gone"}']);
        $this->assertNull($responses[1]['value']);
        $this->assertSame(
            ['class' => 'DomainException', 'code' => null, 'message' => 'destroy failed for gone'],
            $responses[1]['exception']
        );
    }

    public function testAwsErrorCodeIsTakenFromTheException(): void
    {
        $e = new class ('throttled') extends RuntimeException {
            public function getAwsErrorCode(): string
            {
                return 'ThrottlingException';
            }
        };
        $described = DynamoSessionHandlerWorker::describe($e);
        $this->assertSame('ThrottlingException', $described['code']);
        $this->assertSame('throttled', $described['message']);
    }

    /**
     * @return array<string, array{string, string}>
     */
    public function badRequests(): array
    {
        return [
            'not JSON' => ['{nope', 'not valid JSON'],
            'not an object' => ['[1,2]', 'must be a JSON object'],
            'no op' => ['{"id":"x"}', 'no "op"'],
            'unknown op' => ['{"op":"explode"}', 'unknown op "explode"'],
            'before new_handler' => ['{"op":"read","id":"x"}', 'send "new_handler" first'],
        ];
    }

    /**
     * @dataProvider badRequests
     */
    public function testWorkerLevelFailuresAreHarnessProtocolErrors(string $line, string $message): void
    {
        $responses = $this->runLines([$line]);
        $this->assertCount(1, $responses);
        $this->assertNull($responses[0]['value']);
        $this->assertSame([], $responses[0]['warnings']);
        $this->assertSame('HarnessProtocolError', $responses[0]['exception']['class']);
        $this->assertStringContainsString($message, $responses[0]['exception']['message']);
    }

    public function testMistypedFieldsAreProtocolErrors(): void
    {
        $responses = $this->runLines([
            self::NEW_HANDLER,
            '{"op":"read","id":7}',
            '{"op":"write","id":"x","data_b64":"***"}',
            '{"op":"gc","max_lifetime":"1440"}',
            '{"op":"new_handler","config":{}}',
            '{"op":"read","id":"x"}',
        ]);
        foreach ([1, 2, 3, 4, 5] as $i) {
            $this->assertSame('HarnessProtocolError', $responses[$i]['exception']['class'], 'response ' . $i);
        }
        $this->assertStringContainsString('"id" must be a string', $responses[1]['exception']['message']);
        $this->assertStringContainsString('base64', $responses[2]['exception']['message']);
        // A failed new_handler drops the previous handler rather than silently keeping it.
        $this->assertStringContainsString('new_handler', $responses[5]['exception']['message']);
    }

    public function testClientBlockBecomesSdkClientOptions(): void
    {
        $this->assertSame(
            [
                'version' => '2012-08-10',
                'endpoint' => 'http://127.0.0.1:9',
                'region' => 'us-east-1',
                'credentials' => ['key' => 'k', 'secret' => 's'],
            ],
            DynamoSessionHandlerWorker::clientOptions(
                ['endpoint' => 'http://127.0.0.1:9', 'region' => 'us-east-1', 'key' => 'k', 'secret' => 's',
                    'retries' => null]
            )
        );
        $withRetries = DynamoSessionHandlerWorker::clientOptions(['region' => 'r', 'retries' => 0]);
        $this->assertSame(0, $withRetries['retries']);
        $this->assertArrayNotHasKey('credentials', $withRetries);
        $standard = DynamoSessionHandlerWorker::clientOptions(
            ['region' => 'r', 'retries' => ['mode' => 'standard', 'max_attempts' => 2]]
        );
        $this->assertSame(['mode' => 'standard', 'max_attempts' => 2], $standard['retries']);
    }

    public function testResponsesSurviveInvalidUtf8(): void
    {
        $line = DynamoSessionHandlerWorker::encode(
            ['value' => null, 'warnings' => ["bad \x80\xff"], 'exception' => null]
        );
        $decoded = json_decode($line, true);
        $this->assertIsArray($decoded);
        $this->assertStringStartsWith('bad ', $decoded['warnings'][0]);
    }

    public function testOtherPhpErrorsGoToStderrNotTheResponse(): void
    {
        $worker = $this->worker();
        $worker->onError(E_USER_NOTICE, 'just a notice', 'f.php', 3);
        rewind($this->stderr);
        $this->assertStringContainsString('just a notice', (string) stream_get_contents($this->stderr));
    }

    public function testWorkerScriptWithoutVendorTreeExitsWithCode3AndTheComposerCommand(): void
    {
        $script = dirname(__DIR__, 2) . '/Worker/handler_worker.php';
        $env = getenv();
        $env['DYNAMO_SESSION_VENDOR'] = sys_get_temp_dir() . '/dynamo-session-no-such-vendor';
        $process = proc_open(
            [PHP_BINARY, $script],
            [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
            $pipes,
            null,
            $env
        );
        $this->assertIsResource($process);
        fclose($pipes[0]);
        $stdout = stream_get_contents($pipes[1]);
        $stderr = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        $status = proc_close($process);

        $this->assertSame(3, $status);
        $this->assertSame('', $stdout);
        $this->assertStringContainsString('composer install', (string) $stderr);
        $this->assertStringContainsString('dynamo-session-no-such-vendor', (string) $stderr);
    }
}
