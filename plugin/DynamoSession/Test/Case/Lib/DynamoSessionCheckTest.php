<?php

use PHPUnit\Framework\TestCase;

/**
 * The `check` command's rules and messages: plain PHP, no SDK. The client is a small recorder that answers each
 * operation with a canned result or error; it claims nothing about DynamoDB. DynamoSessionCheckBackendTest runs the
 * same checks with the real SDK against a real DynamoDB-compatible server.
 */
final class DynamoSessionCheckTest extends TestCase
{
    private const ENV = [
        DynamoSessionConfig::REGION => 'us-east-1',
        DynamoSessionConfig::TABLE => 'dynamo_cakephp_sessions',
        DynamoSessionConfig::ENDPOINT => 'http://127.0.0.1:8000',
        DynamoSessionConfig::ACCESS_KEY => 'AKIAEXAMPLEKEY12',
        DynamoSessionConfig::SECRET_KEY => 'secret',
        DynamoSessionConfig::TIMEOUT => '2',
        DynamoSessionConfig::CONNECT_TIMEOUT => '0.5',
        DynamoSessionConfig::RETRIES => '2',
    ];

    /** COmanage Registry 4.6's Session block, as far as the check reads it. */
    private const COMANAGE_SESSION = ['timeout' => 480, 'ini' => ['session.gc_maxlifetime' => 86400]];

    private const TABLE = [
        'TableName' => 'dynamo_cakephp_sessions',
        'AttributeDefinitions' => [['AttributeName' => 'id', 'AttributeType' => 'S']],
        'KeySchema' => [['AttributeName' => 'id', 'KeyType' => 'HASH']],
        'TableStatus' => 'ACTIVE',
        'ItemCount' => 3,
        'BillingModeSummary' => ['BillingMode' => 'PAY_PER_REQUEST'],
        'ProvisionedThroughput' => ['ReadCapacityUnits' => 0, 'WriteCapacityUnits' => 0],
    ];

    /** @var list<array{string, array<string, mixed>}> operation and arguments of every call the check made */
    private array $calls = [];

    /**
     * @param array<string, mixed> $answers client method => result array, Throwable, or callable(args): array
     * @param callable|null $credentials what getCredentials()->wait() does; null returns a key
     */
    private function client(array $answers = [], ?callable $credentials = null): object
    {
        $calls = &$this->calls;
        $answers += [
            'describeTable' => ['Table' => self::TABLE],
            'describeTimeToLive' => ['TimeToLiveDescription' => [
                'TimeToLiveStatus' => 'ENABLED', 'AttributeName' => 'expires',
            ]],
            // Reads back whatever the probe wrote, as a working table does.
            'getItem' => static function (array $args) use (&$calls): array {
                foreach (array_reverse($calls) as [$operation, $written]) {
                    if ($operation === 'updateItem' && $written['Key'] === $args['Key']) {
                        return ['Item' => $args['Key'] + [
                            'data' => $written['AttributeUpdates']['data']['Value'],
                            'expires' => $written['AttributeUpdates']['expires']['Value'],
                        ]];
                    }
                }
                return [];
            },
        ];
        $credentials = $credentials ?? static function () {
            return new class {
                public function getAccessKeyId(): string
                {
                    return 'ASIADEFAULTCHAIN9';
                }
            };
        };
        return new class ($answers, $calls, $credentials) {
            /** @var array<string, mixed> */
            private array $answers;

            /** @var list<array{string, array<string, mixed>}> */
            private array $calls;

            /** @var callable */
            private $credentials;

            /**
             * @param array<string, mixed> $answers
             * @param list<array{string, array<string, mixed>}> $calls
             */
            public function __construct(array $answers, array &$calls, callable $credentials)
            {
                $this->answers = $answers;
                $this->calls = &$calls;
                $this->credentials = $credentials;
            }

            public function getCredentials(): object
            {
                return new class ($this->credentials) {
                    /** @var callable */
                    private $wait;

                    public function __construct(callable $wait)
                    {
                        $this->wait = $wait;
                    }

                    /** @return mixed */
                    public function wait()
                    {
                        return ($this->wait)();
                    }
                };
            }

            /**
             * @param array<int, mixed> $arguments
             * @return array<string, mixed>
             */
            public function __call(string $name, array $arguments): array
            {
                $this->calls[] = [$name, $arguments[0]];
                $answer = $this->answers[$name] ?? [];
                if ($answer instanceof Throwable) {
                    throw $answer;
                }
                return is_callable($answer) ? $answer($arguments[0]) : $answer;
            }
        };
    }

    /**
     * An exception shaped like the SDK's AwsException as far as the check looks at it.
     */
    private static function awsError(string $code, bool $connection = false, string $operation = 'GetItem'): Exception
    {
        return new class ($code, $connection, $operation) extends RuntimeException {
            private string $awsCode;
            private bool $connection;
            private string $operation;

            public function __construct(string $awsCode, bool $connection, string $operation)
            {
                parent::__construct(
                    "Error executing \"$operation\" on \"http://127.0.0.1:8000\"; AWS HTTP error:\n"
                    . ($connection ? 'cURL error 7: Failed to connect to 127.0.0.1 port 1' : "Client error:\n{...}")
                );
                $this->awsCode = $awsCode;
                $this->connection = $connection;
                $this->operation = $operation;
            }

            public function getAwsErrorCode(): ?string
            {
                return $this->connection ? null : $this->awsCode;
            }

            public function getAwsErrorMessage(): ?string
            {
                return $this->connection ? null : 'simulated ' . $this->awsCode;
            }

            public function isConnectionError(): bool
            {
                return $this->connection;
            }

            public function getCommand(): object
            {
                return new class ($this->operation) {
                    private string $name;

                    public function __construct(string $name)
                    {
                        $this->name = $name;
                    }

                    public function getName(): string
                    {
                        return $this->name;
                    }
                };
            }
        };
    }

    /**
     * @param array<string, string|null> $env
     * @param array<string, mixed> $session
     * @return list<array{status: string, check: string, message: string}>
     */
    private function check(
        ?object $client = null,
        array $env = self::ENV,
        array $session = self::COMANAGE_SESSION
    ): array {
        $client = $client ?? $this->client();
        $check = new DynamoSessionCheck(static fn () => $client, $session, '1440', $env);
        return $check->run();
    }

    /**
     * @param list<array{status: string, check: string, message: string}> $findings
     * @return list<string> "STATUS check" for each finding
     */
    private static function shape(array $findings): array
    {
        return array_map(static fn (array $f): string => $f['status'] . ' ' . $f['check'], $findings);
    }

    /**
     * @param list<array{status: string, check: string, message: string}> $findings
     */
    private static function text(array $findings): string
    {
        return implode("\n", array_map([DynamoSessionCheck::class, 'line'], $findings));
    }

    /**
     * @return list<string>
     */
    private function operations(): array
    {
        return array_column($this->calls, 0);
    }

    public function testAHealthyDeploymentIsOkLineByLine(): void
    {
        $findings = $this->check();

        $this->assertSame([
            'OK config', 'OK credentials', 'OK table', 'OK billing', 'OK ttl',
            'OK iam', 'OK iam', 'OK iam', 'OK iam', 'OK iam', 'OK latency', 'OK client', 'OK session',
        ], self::shape($findings));
        $this->assertFalse(DynamoSessionCheck::failed($findings));
        $this->assertSame(
            'OK   table: dynamo_cakephp_sessions: key schema id S HASH, status ACTIVE, about 3 items',
            DynamoSessionCheck::line($findings[2])
        );
        $this->assertStringContainsString('PAY_PER_REQUEST', $findings[3]['message']);
        $this->assertSame('ENABLED on expires', $findings[4]['message']);
        $this->assertStringContainsString('static key AKIA...12', $findings[1]['message']);
        $this->assertStringContainsString('over 7 calls', $findings[10]['message']);
        $this->assertSame('DynamoSession check: no failures, 0 warnings.', DynamoSessionCheck::summary($findings));
    }

    public function testEveryPolicyActionIsTriedOnAProbeItemThatIsRemovedAgain(): void
    {
        $findings = $this->check();

        $this->assertSame(
            ['describeTable', 'describeTimeToLive', 'updateItem', 'getItem', 'scan', 'batchWriteItem', 'deleteItem'],
            $this->operations()
        );
        $iam = array_values(array_filter($findings, static fn (array $f): bool => $f['check'] === 'iam'));
        foreach (['UpdateItem', 'GetItem', 'Scan', 'BatchWriteItem', 'DeleteItem'] as $i => $action) {
            $this->assertStringStartsWith('dynamodb:' . $action . ' allowed', $iam[$i]['message']);
        }

        [, $update] = $this->calls[2];
        $probe = $update['Key']['id']['S'];
        $this->assertStringStartsWith(DynamoSessionCheck::PROBE_PREFIX, $probe);
        $this->assertSame('dynamo_cakephp_sessions', $update['TableName']);
        // Written as the SDK's handler writes (AttributeUpdates), with an expiry in case the delete never happens.
        $this->assertSame(['Action' => 'DELETE'], $update['AttributeUpdates']['lock']);
        $expires = (int) $update['AttributeUpdates']['expires']['Value']['N'];
        $this->assertGreaterThan(time(), $expires);
        $this->assertLessThanOrEqual(time() + 600, $expires);

        $this->assertTrue($this->calls[3][1]['ConsistentRead']);
        $this->assertSame(1, $this->calls[4][1]['Limit']);
        $this->assertSame(['#k' => 'id'], $this->calls[4][1]['ExpressionAttributeNames']);
        $batchKey = $this->calls[5][1]['RequestItems']['dynamo_cakephp_sessions'][0]['DeleteRequest']['Key'];
        $this->assertNotSame($probe, $batchKey['id']['S']);
        $this->assertSame(['id' => ['S' => $probe]], $this->calls[6][1]['Key']);
    }

    public function testConfigurationProblemsAreOneFailEachAndNothingIsSent(): void
    {
        $built = false;
        $check = new DynamoSessionCheck(
            static function () use (&$built) {
                $built = true;
                return new stdClass();
            },
            self::COMANAGE_SESSION,
            '1440',
            [DynamoSessionConfig::LOCKING => 'perhaps']
        );
        $findings = $check->run();

        $this->assertFalse($built);
        $this->assertSame(['FAIL config', 'FAIL config', 'FAIL config'], self::shape($findings));
        $this->assertStringStartsWith(
            'FAIL config: ' . DynamoSessionConfig::REGION . ' is not set',
            self::text($findings)
        );
        $this->assertStringContainsString(DynamoSessionConfig::TABLE . ' is not set', self::text($findings));
        $this->assertStringContainsString(DynamoSessionConfig::LOCKING . ' must be one of', self::text($findings));
        $this->assertTrue(DynamoSessionCheck::failed($findings));
        $this->assertStringStartsWith(
            'DynamoSession check: 3 failed, 0 warnings.',
            DynamoSessionCheck::summary($findings)
        );
    }

    public function testAWrongTableNameFailsOnceNamingTheVariablesAndSkipsTheProbes(): void
    {
        $findings = $this->check($this->client(['describeTable' => self::awsError('ResourceNotFoundException')]));

        $this->assertSame(
            ['OK config', 'OK credentials', 'FAIL table', 'OK client', 'OK session'],
            self::shape($findings)
        );
        $this->assertSame(['describeTable'], $this->operations());
        $message = $findings[2]['message'];
        $this->assertStringContainsString('dynamo_cakephp_sessions does not exist in us-east-1', $message);
        $this->assertStringContainsString('every session write would be lost', $message);
        $this->assertStringContainsString(DynamoSessionConfig::TABLE, $message);
        $this->assertStringContainsString(DynamoSessionConfig::REGION, $message);
    }

    public function testAMissingTableSeenOnlyByTheProbesFailsTheSameWay(): void
    {
        // The seed policy does not allow DescribeTable: the first probe is what finds the table missing.
        $findings = $this->check($this->client([
            'describeTable' => self::awsError('AccessDeniedException'),
            'describeTimeToLive' => self::awsError('AccessDeniedException'),
            'updateItem' => self::awsError('ResourceNotFoundException'),
        ]));

        $this->assertSame(
            // No call succeeded, so no latency line.
            ['OK config', 'OK credentials', 'WARN table', 'WARN ttl', 'FAIL table', 'OK client', 'OK session'],
            self::shape($findings)
        );
        $this->assertSame(['describeTable', 'describeTimeToLive', 'updateItem'], $this->operations());
    }

    public function testAnUnreachableEndpointFailsOnceWithTheTimeItTook(): void
    {
        $findings = $this->check($this->client(['describeTable' => self::awsError('', true, 'DescribeTable')]));

        $this->assertSame(
            ['OK config', 'OK credentials', 'FAIL endpoint', 'OK client', 'OK session'],
            self::shape($findings)
        );
        $this->assertSame(['describeTable'], $this->operations());
        $this->assertMatchesRegularExpression(
            '/^cannot reach http:\/\/127\.0\.0\.1:8000: DescribeTable gave up after [0-9.]+ s \(Error executing/',
            $findings[2]['message']
        );
        $this->assertStringContainsString('cURL error 7', $findings[2]['message']);
        $this->assertStringContainsString(DynamoSessionConfig::TIMEOUT, $findings[2]['message']);
        $this->assertStringNotContainsString("\n", $findings[2]['message']);
    }

    public function testTheSeedPolicyWithoutTheGcActionsWarnsAndADeniedReadFails(): void
    {
        $findings = $this->check($this->client([
            'describeTable' => self::awsError('AccessDeniedException'),
            'describeTimeToLive' => self::awsError('AccessDeniedException'),
            'getItem' => self::awsError('AccessDeniedException'),
            'scan' => self::awsError('AccessDeniedException'),
            'batchWriteItem' => self::awsError('AccessDeniedException'),
        ]));

        $this->assertSame([
            'OK config', 'OK credentials', 'WARN table', 'WARN ttl',
            'OK iam', 'FAIL iam', 'WARN iam', 'WARN iam', 'OK iam', 'OK latency', 'OK client', 'OK session',
        ], self::shape($findings));
        $text = self::text($findings);
        $this->assertStringContainsString('WARN table: dynamodb:DescribeTable denied', $text);
        $this->assertStringContainsString(
            'FAIL iam: dynamodb:GetItem denied (needed for read): every read comes back empty',
            $text
        );
        $this->assertStringContainsString('WARN iam: dynamodb:Scan denied (needed for the gc command)', $text);
        $this->assertTrue(DynamoSessionCheck::failed($findings));
    }

    public function testADeniedDeleteLeavesTheProbeToBatchWriteItem(): void
    {
        $findings = $this->check($this->client(['deleteItem' => self::awsError('AccessDeniedException')]));

        $this->assertStringContainsString('FAIL iam: dynamodb:DeleteItem denied', self::text($findings));
        $this->assertSame('batchWriteItem', $this->operations()[7]);
        $probe = $this->calls[2][1]['Key'];
        $this->assertSame(
            [['DeleteRequest' => ['Key' => $probe]]],
            $this->calls[7][1]['RequestItems']['dynamo_cakephp_sessions']
        );
        $this->assertStringNotContainsString('may be left', self::text($findings));
    }

    public function testAProbeThatCannotBeRemovedIsReported(): void
    {
        $findings = $this->check($this->client([
            'deleteItem' => self::awsError('AccessDeniedException'),
            'batchWriteItem' => self::awsError('AccessDeniedException'),
        ]));

        $this->assertMatchesRegularExpression(
            '/WARN probe: item DynamoSessionCheck_probe_[0-9a-f]{16} may be left in the table; it expires within 10/',
            self::text($findings)
        );
    }

    public function testABackendThatDropsTheSdksWritesFails(): void
    {
        $findings = $this->check($this->client(['getItem' => ['Item' => ['id' => ['S' => 'x']]]]));

        $this->assertStringContainsString(
            'FAIL probe: the item written with UpdateItem read back without its data attribute',
            self::text($findings)
        );
    }

    public function testRejectedCredentialsStopTheChecks(): void
    {
        $findings = $this->check(
            $this->client(['describeTable' => self::awsError('UnrecognizedClientException', false, 'DescribeTable')])
        );

        $this->assertSame('FAIL credentials', self::shape($findings)[2]);
        $this->assertStringStartsWith(
            'rejected by DynamoDB: DescribeTable failed: UnrecognizedClientException: simulated',
            $findings[2]['message']
        );
        $this->assertSame(['describeTable'], $this->operations());
    }

    public function testNoCredentialsAtAllNamesTheVariablesToSet(): void
    {
        $env = self::ENV;
        unset($env[DynamoSessionConfig::ACCESS_KEY], $env[DynamoSessionConfig::SECRET_KEY]);
        $client = $this->client([], static function (): void {
            throw new RuntimeException('Error retrieving credentials from the instance profile metadata service.');
        });
        $findings = $this->check($client, $env);

        $this->assertSame(['OK config', 'FAIL credentials', 'OK client', 'OK session'], self::shape($findings));
        $message = $findings[1]['message'];
        $this->assertStringContainsString(
            DynamoSessionConfig::ACCESS_KEY . ' and ' . DynamoSessionConfig::SECRET_KEY,
            $message
        );
        $this->assertStringContainsString('AWS_ACCESS_KEY_ID', $message);
        $this->assertStringContainsString('instance profile metadata service', $message);
        $this->assertSame([], $this->operations());
    }

    public function testDefaultChainCredentialsAreReportedRedacted(): void
    {
        $env = self::ENV;
        unset($env[DynamoSessionConfig::ACCESS_KEY], $env[DynamoSessionConfig::SECRET_KEY]);
        $findings = $this->check(null, $env);

        $this->assertSame(
            'found through the SDK default credential chain (access key ASIA...N9)',
            $findings[1]['message']
        );
    }

    public function testAClientThatCannotBeBuiltIsOneFail(): void
    {
        $check = new DynamoSessionCheck(
            static function (): object {
                throw new RuntimeException(DynamoSessionVendor::installHint());
            },
            self::COMANAGE_SESSION,
            '1440',
            self::ENV
        );
        $findings = $check->run();

        $this->assertSame(['OK config', 'FAIL client', 'OK client', 'OK session'], self::shape($findings));
        $this->assertStringContainsString('composer install', $findings[1]['message']);
    }

    public function testKeySchemaOtherThanIdStringHashFails(): void
    {
        $table = ['KeySchema' => [
            ['AttributeName' => 'pk', 'KeyType' => 'HASH'], ['AttributeName' => 'sk', 'KeyType' => 'RANGE'],
        ], 'AttributeDefinitions' => [
            ['AttributeName' => 'pk', 'AttributeType' => 'S'], ['AttributeName' => 'sk', 'AttributeType' => 'N'],
        ], 'TableName' => 't'] + self::TABLE;
        $findings = DynamoSessionCheck::tableFindings($table);
        $this->assertCount(1, $findings);
        $this->assertSame(DynamoSessionCheck::FAIL, $findings[0]['status']);
        $this->assertStringStartsWith(
            't has key schema pk S HASH, sk N RANGE; the SDK handler needs exactly id S HASH',
            $findings[0]['message']
        );

        $numeric = ['AttributeDefinitions' => [['AttributeName' => 'id', 'AttributeType' => 'N']]] + self::TABLE;
        $this->assertSame(DynamoSessionCheck::FAIL, DynamoSessionCheck::tableFindings($numeric)[0]['status']);

        // And the run stops there: probes against the wrong key would only repeat it.
        $findings = $this->check($this->client(['describeTable' => ['Table' => $table]]));
        $this->assertSame(['describeTable'], $this->operations());
        $this->assertTrue(DynamoSessionCheck::failed($findings));
    }

    public function testBillingModeAndStatusAreReported(): void
    {
        $provisioned = ['ProvisionedThroughput' => ['ReadCapacityUnits' => 5, 'WriteCapacityUnits' => 2]]
            + array_diff_key(self::TABLE, ['BillingModeSummary' => true]);
        $findings = DynamoSessionCheck::tableFindings($provisioned);
        $this->assertSame(DynamoSessionCheck::WARN, $findings[1]['status']);
        $this->assertStringStartsWith('PROVISIONED, 5 read / 2 write capacity units', $findings[1]['message']);

        // Tables whose DescribeTable has no BillingModeSummary (local servers, old tables): 0/0 means on-demand.
        $bare = array_diff_key(self::TABLE, ['BillingModeSummary' => true]);
        $this->assertSame('PAY_PER_REQUEST (on-demand)', DynamoSessionCheck::tableFindings($bare)[1]['message']);

        $creating = ['TableStatus' => 'CREATING'] + self::TABLE;
        $this->assertSame(DynamoSessionCheck::WARN, DynamoSessionCheck::tableFindings($creating)[0]['status']);
    }

    /**
     * @return array<string, array{array<string, string>, string, string}>
     */
    public function ttlDescriptions(): array
    {
        return [
            'enabled' => [['TimeToLiveStatus' => 'ENABLED', 'AttributeName' => 'expires'], 'OK', 'ENABLED on expires'],
            'enabling' => [['TimeToLiveStatus' => 'ENABLING', 'AttributeName' => 'expires'], 'OK', 'ENABLING'],
            'disabled' => [['TimeToLiveStatus' => 'DISABLED'], 'WARN', 'DISABLED: expired sessions are deleted only'],
            'absent' => [[], 'WARN', 'DISABLED'],
            'other attribute' => [
                ['TimeToLiveStatus' => 'ENABLED', 'AttributeName' => 'ttl'],
                'WARN',
                'ENABLED on ttl, not on expires',
            ],
        ];
    }

    /**
     * @dataProvider ttlDescriptions
     * @param array<string, string> $description
     */
    public function testTimeToLive(array $description, string $status, string $message): void
    {
        $finding = DynamoSessionCheck::ttlFinding($description);
        $this->assertSame($status, $finding['status']);
        $this->assertStringStartsWith($message, $finding['message']);
    }

    public function testTtlApiMissingOnTheServerIsAWarningNotAFailure(): void
    {
        $findings = $this->check($this->client(
            ['describeTimeToLive' => self::awsError('UnknownOperationException', false, 'DescribeTimeToLive')]
        ));
        $this->assertStringContainsString(
            'WARN ttl: not checked: DescribeTimeToLive failed: UnknownOperationException: simulated',
            self::text($findings)
        );
        $this->assertFalse(DynamoSessionCheck::failed($findings));
    }

    public function testLatencyIsSummarisedAndSlowRoundTripsWarn(): void
    {
        $this->assertNull(DynamoSessionCheck::latencyFinding([]));
        $fast = DynamoSessionCheck::latencyFinding([4.2, 3.0, 12.6, 5.0]);
        $this->assertSame(
            [
                'status' => 'OK',
                'check' => 'latency',
                'message' => 'round trip min 3 / median 5 / max 13 ms over 4 calls',
            ],
            $fast
        );
        $slow = DynamoSessionCheck::latencyFinding([120.0, 150.0, 90.0]);
        $this->assertSame('WARN', $slow['status']);
        $this->assertStringContainsString('median 120', $slow['message']);
    }

    public function testBackoffBoundFollowsTheSdkLegacyDynamoDbSchedule(): void
    {
        $this->assertSame(0.0, DynamoSessionCheck::maxBackoff(0));
        $this->assertSame(0.0, DynamoSessionCheck::maxBackoff(1));
        $this->assertSame(0.1, DynamoSessionCheck::maxBackoff(2));
        $this->assertSame(0.3, DynamoSessionCheck::maxBackoff(3));
        $this->assertSame(32.7, DynamoSessionCheck::maxBackoff(10));
    }

    public function testSdkDefaultTimeoutsAndRetriesWarnWithTheirCost(): void
    {
        $finding = DynamoSessionCheck::clientFinding(DynamoSessionConfig::fromArray([
            DynamoSessionConfig::REGION => 'us-east-1',
            DynamoSessionConfig::TABLE => 'sessions',
        ]));
        $this->assertSame('WARN', $finding['status']);
        $this->assertStringStartsWith(
            DynamoSessionConfig::TIMEOUT . ' and ' . DynamoSessionConfig::CONNECT_TIMEOUT . ' unset, 10 retries (SDK'
            . ' default): an endpoint that accepts connections but does not answer holds each request indefinitely',
            $finding['message']
        );
        $this->assertStringContainsString('up to 32.7 s of back-off per call', $finding['message']);
    }

    public function testConfiguredTimeoutsGiveTheWorstCasePerCall(): void
    {
        $finding = DynamoSessionCheck::clientFinding(DynamoSessionConfig::fromArray(self::ENV));
        $this->assertSame(
            'timeout 2 s, connect timeout 0.5 s, 2 retries: an outage costs at most ~6.1 s per DynamoDB call (a page'
            . ' makes at least two)',
            $finding['message']
        );
        $this->assertSame('OK', $finding['status']);

        $noRetries = DynamoSessionCheck::clientFinding(DynamoSessionConfig::fromArray(
            [DynamoSessionConfig::RETRIES => '0', DynamoSessionConfig::CONNECT_TIMEOUT => null] + self::ENV
        ));
        $this->assertStringStartsWith(
            'timeout 2 s, connect timeout within the timeout, 0 retries: an outage costs at most ~2 s',
            $noRetries['message']
        );
    }

    /**
     * @return array<string, array{array<string, mixed>, array<string, string>, string, string}>
     */
    public function sessionSettings(): array
    {
        return [
            'COmanage block' => [self::COMANAGE_SESSION, [], 'OK', 'DynamoDB items live 86400 s (Session.ini'
                . ' session.gc_maxlifetime), CakePHP\'s Session.timeout is 480 min (28800 s)'],
            'lifetime shorter than the timeout' => [
                ['timeout' => 480, 'ini' => ['session.gc_maxlifetime' => '1440']],
                [],
                'WARN',
                'DynamoDB items live 1440 s (Session.ini session.gc_maxlifetime), CakePHP\'s Session.timeout is 480'
                . ' min (28800 s): a user idle for longer than 1440 s keeps the session id but loses the data',
            ],
            'lifetime far longer' => [
                ['timeout' => 30, 'ini' => ['session.gc_maxlifetime' => 86400]],
                [],
                'WARN',
                'DynamoDB items live 86400 s (Session.ini session.gc_maxlifetime), CakePHP\'s Session.timeout is 30'
                . ' min (1800 s): more than 10x',
            ],
            'exactly 10x is fine' => [
                ['timeout' => 10, 'ini' => ['session.gc_maxlifetime' => 6000]],
                [],
                'OK',
                'DynamoDB items live 6000 s',
            ],
            'the variable wins' => [
                self::COMANAGE_SESSION,
                [DynamoSessionConfig::LIFETIME => '600'],
                'WARN',
                'DynamoDB items live 600 s (' . DynamoSessionConfig::LIFETIME . ')',
            ],
            'CakePHP default from the timeout' => [['timeout' => 480], [], 'OK', 'DynamoDB items live 28800 s'
                . ' (CakePHP default: Session.timeout * 60)'],
            'preset timeout' => [['defaults' => 'php'], [], 'OK', 'DynamoDB items live 14400 s (CakePHP default:'
                . ' Session.timeout * 60), CakePHP\'s Session.timeout is 240 min'],
            'no Session block' => [[], [], 'WARN', 'Session.timeout is not configured'],
        ];
    }

    /**
     * @dataProvider sessionSettings
     * @param array<string, mixed> $block
     * @param array<string, string> $env
     */
    public function testSessionLifetimeHazards(array $block, array $env, string $status, string $message): void
    {
        $config = DynamoSessionConfig::fromArray($env + self::ENV);
        $finding = DynamoSessionCheck::sessionFinding($config, $block, '1440');
        $this->assertSame($status, $finding['status'], $finding['message']);
        $this->assertStringStartsWith($message, $finding['message']);
    }

    public function testErrorsAreDescribedOnOneLine(): void
    {
        $this->assertSame(
            'DescribeTable failed: ResourceNotFoundException: simulated ResourceNotFoundException',
            DynamoSessionCheck::describeError(self::awsError('ResourceNotFoundException', false, 'DescribeTable'))
        );
        $this->assertSame(
            'plain failure on two lines',
            DynamoSessionCheck::describeError(new RuntimeException("plain failure\n  on two lines"))
        );
        $long = DynamoSessionCheck::describeError(new RuntimeException(str_repeat('x', 1000)));
        $this->assertSame(400, strlen($long));
        $this->assertSame(
            'Scan failed: no answer: Error executing "Scan" on "http://127.0.0.1:8000"; AWS HTTP error: cURL error 7:'
            . ' Failed to connect to 127.0.0.1 port 1',
            DynamoSessionCheck::describeError(self::awsError('', true, 'Scan'))
        );
    }

    public function testMissingCredentialsErrorsNameTheVariablesToSet(): void
    {
        $sdk = new RuntimeException('Could not resolve an authentication scheme: The service does not support'
            . " `sigv4` authentication or identity could not be loaded.\nSignature V4 ...");
        $line = DynamoSessionCheck::describeError(new RuntimeException('Scan failed', 0, $sdk));
        $this->assertStringStartsWith(
            'no AWS credentials found: set ' . DynamoSessionConfig::ACCESS_KEY . ' and '
            . DynamoSessionConfig::SECRET_KEY . ' for a static key, or give PHP an SDK default credential source',
            $line
        );
        $this->assertStringNotContainsString("\n", $line);
    }

    public function testFindingLinesAlignTheirStatus(): void
    {
        $this->assertSame(
            'WARN ttl: x',
            DynamoSessionCheck::line(['status' => 'WARN', 'check' => 'ttl', 'message' => 'x'])
        );
        $this->assertSame(
            'OK   ttl: x',
            DynamoSessionCheck::line(['status' => 'OK', 'check' => 'ttl', 'message' => 'x'])
        );
    }
}
