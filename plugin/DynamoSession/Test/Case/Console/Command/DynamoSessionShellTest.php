<?php

use PHPUnit\Framework\TestCase;

/**
 * The shell inside CakePHP with the real SDK: what an operator sees. Errors are one line (the stack trace only with
 * -v); `check` prints one line per finding and fails on any FAIL.
 */
final class DynamoSessionShellTest extends TestCase
{
    /** @var array<string, string|false> */
    private array $savedEnv = [];

    /** @var list<string> */
    private array $files = [];

    protected function setUp(): void
    {
        DynamoSessionTestEnvironment::requireCakeAndSdk($this);
        App::uses('ConsoleOutput', 'Console');
        App::uses('ConsoleInput', 'Console');
        App::uses('DynamoSessionShell', 'DynamoSession.Console/Command');
        foreach (DynamoSessionConfig::VARIABLES as $name) {
            $this->savedEnv[$name] = getenv($name);
            putenv($name);
        }
        $env = [
            DynamoSessionConfig::REGION => 'us-east-1',
            DynamoSessionConfig::TABLE => 'dynamo_cakephp_sessions',
            DynamoSessionConfig::ENDPOINT => 'http://127.0.0.1:1',
            DynamoSessionConfig::ACCESS_KEY => 'test',
            DynamoSessionConfig::SECRET_KEY => 'test',
            DynamoSessionConfig::RETRIES => '0',
        ];
        foreach ($env as $name => $value) {
            putenv($name . '=' . $value);
        }
        Configure::write('Session', ['timeout' => 480, 'ini' => ['session.gc_maxlifetime' => 86400]]);
    }

    protected function tearDown(): void
    {
        foreach ($this->savedEnv as $name => $value) {
            putenv($value === false ? $name : $name . '=' . $value);
        }
        foreach ($this->files as $file) {
            @unlink($file);
        }
        if (class_exists('Configure', false)) {
            Configure::delete('Session');
        }
    }

    /**
     * @param list<string> $argv the command and its options, as after `Console/cake DynamoSession.dynamo_session`
     * @return array{mixed, string, string} the command's return value, stdout and stderr
     */
    private function runShell(array $argv): array
    {
        $out = (string) tempnam(sys_get_temp_dir(), 'dynamo-session-shell-out');
        $err = (string) tempnam(sys_get_temp_dir(), 'dynamo-session-shell-err');
        $this->files[] = $out;
        $this->files[] = $err;
        $shell = new DynamoSessionShell(
            new ConsoleOutput($out),
            new ConsoleOutput($err),
            new ConsoleInput('php://memory')
        );
        $shell->initialize();
        $result = $shell->runCommand($argv[0], $argv);
        unset($shell);
        return [$result, (string) file_get_contents($out), (string) file_get_contents($err)];
    }

    /**
     * @return list<string> the finding lines of `check` output
     */
    private static function findingLines(string $stdout): array
    {
        return array_values(preg_grep('/^(OK  |WARN|FAIL) /', explode("\n", $stdout)) ?: []);
    }

    public function testAnErrorIsOneLineAndTheStackTraceNeedsVerbose(): void
    {
        putenv(DynamoSessionConfig::REGION);

        [$result, , $stderr] = $this->runShell(['config']);
        $this->assertFalse($result);
        $this->assertSame(
            'Error: DynamoSession is not configured correctly: ' . DynamoSessionConfig::REGION . ' is not set (the AWS'
            . ' region of the session table, e.g. us-east-1). See the "Environment variables" section of the'
            . ' DynamoSession plugin README.' . "\n",
            $stderr
        );

        [$result, , $stderr] = $this->runShell(['config', '-v']);
        $this->assertFalse($result);
        $this->assertStringContainsString('DynamoSessionConfigException thrown at ', $stderr);
        $this->assertStringContainsString('#0 ', $stderr);
    }

    public function testAnSdkErrorIsOneLineNamingTheOperation(): void
    {
        [$result, , $stderr] = $this->runShell(['gc']);
        $this->assertFalse($result);
        $this->assertCount(1, explode("\n", rtrim($stderr, "\n")), $stderr);
        $this->assertStringStartsWith(
            'Error: Scan failed: no answer from http://127.0.0.1:1: cURL error 7: Failed to connect to 127.0.0.1'
            . ' port 1',
            $stderr
        );
    }

    public function testCheckPrintsOneLinePerFindingAndFailsOnAFail(): void
    {
        [$result, $stdout] = $this->runShell(['check']);

        $this->assertFalse($result);
        $lines = self::findingLines($stdout);
        $this->assertStringStartsWith('OK   config: table dynamo_cakephp_sessions in us-east-1', $lines[0]);
        $this->assertStringStartsWith('FAIL endpoint: cannot reach http://127.0.0.1:1', $lines[2]);
        $this->assertStringStartsWith('OK   session: DynamoDB items live 86400 s', $lines[4]);
        $this->assertStringContainsString('DynamoSession check: 1 failed, 1 warning.', $stdout);

        [$result, $stdout] = $this->runShell(['check', '-q']);
        $this->assertFalse($result);
        $this->assertSame(['FAIL endpoint', 'WARN client'], array_map(
            static fn (string $line): string => (string) preg_replace('/^(\S+)\s+(\w+):.*$/', '$1 $2', $line),
            self::findingLines($stdout)
        ));
    }

    public function testCheckOfAGoodTableSucceeds(): void
    {
        $endpoint = DynamoSessionTestEnvironment::requireEndpoint($this);
        $client = DynamoSessionTestEnvironment::client($endpoint);
        $table = DynamoSessionTestEnvironment::createTable($client);
        putenv(DynamoSessionConfig::ENDPOINT . '=' . $endpoint);
        putenv(DynamoSessionConfig::TABLE . '=' . $table);
        try {
            [$result, $stdout] = $this->runShell(['check']);
        } finally {
            DynamoSessionTestEnvironment::deleteTable($client, $table);
        }

        $this->assertTrue($result, $stdout);
        $this->assertCount(5, preg_grep('/^OK   iam: dynamodb:\w+ allowed/', self::findingLines($stdout)) ?: []);
        $this->assertStringContainsString('DynamoSession check: no failures', $stdout);
    }
}
