<?php

use PHPUnit\Framework\TestCase;

/**
 * Environment parsing and validation: plain PHP, no SDK, no CakePHP.
 */
final class DynamoSessionConfigTest extends TestCase
{
    private const REQUIRED = [
        DynamoSessionConfig::REGION => 'us-east-1',
        DynamoSessionConfig::TABLE => 'dynamo_cakephp_sessions',
    ];

    /**
     * @param array<string, string|null> $env
     * @return array<string, string> the problems reported, keyed by variable
     */
    private static function problems(array $env): array
    {
        try {
            DynamoSessionConfig::fromArray($env);
        } catch (DynamoSessionConfigException $e) {
            return $e->getProblems();
        }
        self::fail('expected a DynamoSessionConfigException');
    }

    public function testMinimalConfigurationUsesDefaultCredentialChainAndRegionalEndpoint(): void
    {
        $config = DynamoSessionConfig::fromArray(self::REQUIRED);

        $this->assertSame(['version' => '2012-08-10', 'region' => 'us-east-1'], $config->clientOptions());
        $this->assertSame([
            'table_name' => 'dynamo_cakephp_sessions',
            'hash_key' => 'id',
            'data_attribute' => 'data',
            'session_lifetime_attribute' => 'expires',
            'locking' => false,
        ], $config->handlerConfig());
    }

    public function testCOmanageVariablesGiveTheCOmanageWrapperSettingsPlusVersion(): void
    {
        $config = DynamoSessionConfig::fromArray(self::REQUIRED + [
            DynamoSessionConfig::ACCESS_KEY => 'AKIAEXAMPLEKEY12',
            DynamoSessionConfig::SECRET_KEY => 'secret/with+chars',
            DynamoSessionConfig::ENDPOINT => 'http://127.0.0.1:8000',
        ]);

        $this->assertSame([
            'version' => '2012-08-10',
            'region' => 'us-east-1',
            'endpoint' => 'http://127.0.0.1:8000',
            'credentials' => ['key' => 'AKIAEXAMPLEKEY12', 'secret' => 'secret/with+chars'],
        ], $config->clientOptions());
    }

    public function testUnsetEndpointIsAbsentNeverFalse(): void
    {
        // Spec C90: COmanage's wrapper passes getenv()'s false and the SDK throws InvalidArgumentException.
        foreach ([null, false, ''] as $unset) {
            $options = DynamoSessionConfig::fromArray(self::REQUIRED + [DynamoSessionConfig::ENDPOINT => $unset])
                ->clientOptions();
            $this->assertArrayNotHasKey('endpoint', $options);
        }
    }

    public function testSessionTokenIsAddedToStaticCredentials(): void
    {
        $options = DynamoSessionConfig::fromArray(self::REQUIRED + [
            DynamoSessionConfig::ACCESS_KEY => 'ASIAEXAMPLE',
            DynamoSessionConfig::SECRET_KEY => 's',
            DynamoSessionConfig::SESSION_TOKEN => 'token',
        ])->clientOptions();

        $this->assertSame(['key' => 'ASIAEXAMPLE', 'secret' => 's', 'token' => 'token'], $options['credentials']);
    }

    public function testOptionalSettingsAreTypedForTheSdk(): void
    {
        $config = DynamoSessionConfig::fromArray(self::REQUIRED + [
            DynamoSessionConfig::LOCKING => 'TRUE',
            DynamoSessionConfig::LIFETIME => '3600',
            DynamoSessionConfig::MAX_LOCK_WAIT => '0',
            DynamoSessionConfig::CONSISTENT_READ => 'off',
            DynamoSessionConfig::RETRIES => '3',
            DynamoSessionConfig::CONNECT_TIMEOUT => '0.5',
            DynamoSessionConfig::TIMEOUT => '5',
        ]);

        $handler = $config->handlerConfig();
        $this->assertTrue($handler['locking']);
        $this->assertSame(3600, $handler['session_lifetime']);
        $this->assertSame(0, $handler['max_lock_wait_time']);
        // A real boolean: the SDK rejects an integer ConsistentRead (spec C07).
        $this->assertFalse($handler['consistent_read']);

        $client = $config->clientOptions();
        $this->assertSame(3, $client['retries']);
        $this->assertSame(['connect_timeout' => 0.5, 'timeout' => 5.0], $client['http']);
    }

    /**
     * @return array<string, array{string, bool}>
     */
    public function booleanSpellings(): array
    {
        return [
            'true' => ['true', true], '1' => ['1', true], 'yes' => ['Yes', true], 'on' => ['ON', true],
            'false' => ['false', false], '0' => ['0', false], 'no' => ['no', false], 'off' => ['Off', false],
        ];
    }

    /**
     * @dataProvider booleanSpellings
     */
    public function testBooleanSpellings(string $value, bool $expected): void
    {
        $handler = DynamoSessionConfig::fromArray(self::REQUIRED + [DynamoSessionConfig::LOCKING => $value])
            ->handlerConfig();
        $this->assertSame($expected, $handler['locking']);
    }

    public function testMissingRequiredVariablesAreNamedInOneException(): void
    {
        try {
            DynamoSessionConfig::fromArray([]);
            $this->fail('expected a DynamoSessionConfigException');
        } catch (DynamoSessionConfigException $e) {
            $this->assertInstanceOf(InvalidArgumentException::class, $e);
            $this->assertSame([DynamoSessionConfig::REGION, DynamoSessionConfig::TABLE], $e->getVariables());
            $this->assertStringContainsString('COMANAGE_REGISTRY_DYNAMODB_REGION is not set', $e->getMessage());
            $this->assertStringContainsString(
                'COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_TABLE is not set',
                $e->getMessage()
            );
        }
    }

    public function testEmptyValuesCountAsUnsetAsInCOmanageCorePhp(): void
    {
        $problems = self::problems([DynamoSessionConfig::REGION => '', DynamoSessionConfig::TABLE => '']);
        $this->assertSame([DynamoSessionConfig::REGION, DynamoSessionConfig::TABLE], array_keys($problems));
    }

    public function testHalfAKeyPairIsAnErrorNamingTheMissingHalf(): void
    {
        $problems = self::problems(self::REQUIRED + [DynamoSessionConfig::ACCESS_KEY => 'AKIA']);
        $this->assertSame([DynamoSessionConfig::SECRET_KEY], array_keys($problems));
        $this->assertStringContainsString('set both', $problems[DynamoSessionConfig::SECRET_KEY]);

        $problems = self::problems(self::REQUIRED + [DynamoSessionConfig::SECRET_KEY => 'secret']);
        $this->assertSame([DynamoSessionConfig::ACCESS_KEY], array_keys($problems));
    }

    public function testSessionTokenWithoutKeyPairIsAnError(): void
    {
        $problems = self::problems(self::REQUIRED + [DynamoSessionConfig::SESSION_TOKEN => 't']);
        $this->assertSame([DynamoSessionConfig::SESSION_TOKEN], array_keys($problems));
    }

    public function testWhitespaceInKeysIsReportedWithoutEchoingTheSecret(): void
    {
        try {
            DynamoSessionConfig::fromArray(self::REQUIRED + [
                DynamoSessionConfig::ACCESS_KEY => 'AKIA',
                DynamoSessionConfig::SECRET_KEY => "hunter2-secret\n",
            ]);
            $this->fail('expected a DynamoSessionConfigException');
        } catch (DynamoSessionConfigException $e) {
            $this->assertSame([DynamoSessionConfig::SECRET_KEY], $e->getVariables());
            $this->assertStringContainsString('whitespace', $e->getMessage());
            $this->assertStringNotContainsString('hunter2', $e->getMessage());
        }
    }

    /**
     * @return array<string, array{string, string, string}>
     */
    public function invalidValues(): array
    {
        return [
            'region with space' => [DynamoSessionConfig::REGION, 'us east 1', 'AWS region'],
            'region upper case' => [DynamoSessionConfig::REGION, 'US-EAST-1', 'AWS region'],
            'table too short' => [DynamoSessionConfig::TABLE, 'ab', 'table name'],
            'table with slash' => [DynamoSessionConfig::TABLE, 'a/b/c', 'table name'],
            'endpoint without scheme' => [DynamoSessionConfig::ENDPOINT, '127.0.0.1:8000', 'http:// or https://'],
            'endpoint ftp' => [DynamoSessionConfig::ENDPOINT, 'ftp://host', 'http:// or https://'],
            'endpoint "false"' => [DynamoSessionConfig::ENDPOINT, 'false', 'http:// or https://'],
            'locking maybe' => [DynamoSessionConfig::LOCKING, 'maybe', 'one of true, false'],
            'consistent read 2' => [DynamoSessionConfig::CONSISTENT_READ, '2', 'one of true, false'],
            'lifetime zero' => [DynamoSessionConfig::LIFETIME, '0', '>= 1'],
            'lifetime negative' => [DynamoSessionConfig::LIFETIME, '-5', '>= 1'],
            'lifetime with unit' => [DynamoSessionConfig::LIFETIME, '10m', '>= 1'],
            'lifetime fraction' => [DynamoSessionConfig::LIFETIME, '1.5', '>= 1'],
            'lock wait negative' => [DynamoSessionConfig::MAX_LOCK_WAIT, '-1', '>= 0'],
            'retries word' => [DynamoSessionConfig::RETRIES, 'ten', '>= 0'],
            'timeout zero' => [DynamoSessionConfig::TIMEOUT, '0', 'greater than 0'],
            'connect timeout word' => [DynamoSessionConfig::CONNECT_TIMEOUT, 'fast', 'greater than 0'],
        ];
    }

    /**
     * @dataProvider invalidValues
     */
    public function testInvalidValueIsNamedWithWhatIsExpected(string $variable, string $value, string $expected): void
    {
        $problems = self::problems([$variable => $value] + self::REQUIRED);
        $this->assertSame([$variable], array_keys($problems));
        $this->assertStringContainsString($expected, $problems[$variable]);
    }

    public function testAllProblemsAreReportedTogether(): void
    {
        $problems = self::problems([
            DynamoSessionConfig::TABLE => 'x',
            DynamoSessionConfig::LOCKING => 'sometimes',
            DynamoSessionConfig::RETRIES => '-1',
        ]);
        $this->assertSame([
            DynamoSessionConfig::REGION,
            DynamoSessionConfig::TABLE,
            DynamoSessionConfig::LOCKING,
            DynamoSessionConfig::RETRIES,
        ], array_keys($problems));
    }

    public function testMessagesStayOnOneBoundedLine(): void
    {
        $longRegion = "eu\nwest " . str_repeat('x', 200);
        $problems = self::problems([DynamoSessionConfig::REGION => $longRegion] + self::REQUIRED);
        $message = $problems[DynamoSessionConfig::REGION];
        $this->assertStringNotContainsString("\n", $message);
        $this->assertLessThan(250, strlen($message));
    }

    public function testFromEnvironmentReadsGetenv(): void
    {
        $saved = [];
        foreach (DynamoSessionConfig::VARIABLES as $name) {
            $saved[$name] = getenv($name);
            putenv($name);
        }
        try {
            putenv(DynamoSessionConfig::REGION . '=eu-west-1');
            putenv(DynamoSessionConfig::TABLE . '=sessions_table');
            putenv(DynamoSessionConfig::LOCKING . '=yes');
            $config = DynamoSessionConfig::fromEnvironment();
            $this->assertSame('eu-west-1', $config->clientOptions()['region']);
            $this->assertSame('sessions_table', $config->handlerConfig()['table_name']);
            $this->assertTrue($config->handlerConfig()['locking']);
        } finally {
            foreach ($saved as $name => $value) {
                putenv($value === false ? $name : $name . '=' . $value);
            }
        }
    }

    public function testSummaryHidesTheSecret(): void
    {
        $summary = DynamoSessionConfig::fromArray(self::REQUIRED + [
            DynamoSessionConfig::ACCESS_KEY => 'AKIAABCDEFGHIJKL',
            DynamoSessionConfig::SECRET_KEY => 'very-secret-value',
        ])->summary();
        $flat = json_encode($summary);
        $this->assertStringNotContainsString('very-secret-value', (string) $flat);
        $this->assertStringNotContainsString('AKIAABCDEFGHIJKL', (string) $flat);
        $this->assertSame('static key AKIA...KL', $summary['credentials']);
    }
}
