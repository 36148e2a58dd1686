<?php

use PHPUnit\Framework\TestCase;

/**
 * What the optional tests need, and the skip reasons when it is missing.
 *
 * - SDK and CakePHP: a vendor tree (DYNAMO_SESSION_VENDOR, else fixtures/cakephp-app/vendor, else the plugin's
 *   Vendor/), see DynamoSessionCakeBoot.
 * - A DynamoDB endpoint: DYNAMO_SESSION_TEST_ENDPOINT, e.g. http://127.0.0.1:4567 for a local dynalite. Each test
 *   class creates its own uniquely named table there and deletes it afterwards.
 */
final class DynamoSessionTestEnvironment
{
    public const ENDPOINT_ENV = 'DYNAMO_SESSION_TEST_ENDPOINT';

    /**
     * Boots CakePHP and the plugin (which makes the SDK autoloadable), or skips the test.
     */
    public static function requireCakeAndSdk(TestCase $test): void
    {
        $reason = DynamoSessionCakeBoot::unavailableReason();
        if ($reason !== null) {
            $test->markTestSkipped('Needs the AWS SDK and CakePHP: ' . $reason);
        }
        DynamoSessionCakeBoot::boot();
        App::uses('DynamoSession', 'DynamoSession.Model/Datasource/Session');
    }

    /**
     * @return string the endpoint of a DynamoDB-compatible server, or skips the test
     */
    public static function requireEndpoint(TestCase $test): string
    {
        self::requireCakeAndSdk($test);
        $endpoint = getenv(self::ENDPOINT_ENV);
        if (!is_string($endpoint) || $endpoint === '') {
            $test->markTestSkipped(
                'Needs a DynamoDB-compatible endpoint in ' . self::ENDPOINT_ENV . ' (e.g. a local dynalite:'
                . ' `npx dynalite@4.0.0 --port 4567` and ' . self::ENDPOINT_ENV . '=http://127.0.0.1:4567).'
            );
        }
        return $endpoint;
    }

    /**
     * @return \Aws\DynamoDb\DynamoDbClient
     */
    public static function client(string $endpoint)
    {
        return new \Aws\DynamoDb\DynamoDbClient([
            'version' => '2012-08-10',
            'region' => 'us-east-1',
            'endpoint' => $endpoint,
            'credentials' => ['key' => 'test', 'secret' => 'test'],
            'retries' => 0,
        ]);
    }

    /**
     * Creates a table shaped like the plugin's CloudFormation one (hash key id S, on-demand) and returns its name.
     *
     * @param \Aws\DynamoDb\DynamoDbClient $client
     */
    public static function createTable($client): string
    {
        $name = 'dynamo_session_phpunit_' . getmypid() . '_' . bin2hex(random_bytes(4));
        $client->createTable([
            'TableName' => $name,
            'AttributeDefinitions' => [['AttributeName' => 'id', 'AttributeType' => 'S']],
            'KeySchema' => [['AttributeName' => 'id', 'KeyType' => 'HASH']],
            'BillingMode' => 'PAY_PER_REQUEST',
        ]);
        $client->waitUntil('TableExists', ['TableName' => $name, '@waiter' => ['delay' => 1, 'maxAttempts' => 30]]);
        return $name;
    }

    /**
     * @param \Aws\DynamoDb\DynamoDbClient $client
     */
    public static function deleteTable($client, string $name): void
    {
        try {
            $client->deleteTable(['TableName' => $name]);
        } catch (\Aws\Exception\AwsException $e) {
            // Already gone, or the server went away: nothing left to clean up.
        }
    }

    /**
     * @param \Aws\DynamoDb\DynamoDbClient $client
     * @return array<string, mixed>|null the item with type wrappers removed, or null when absent
     */
    public static function item($client, string $table, string $key): ?array
    {
        $result = $client->getItem(['TableName' => $table, 'Key' => ['id' => ['S' => $key]], 'ConsistentRead' => true]);
        if (!isset($result['Item'])) {
            return null;
        }
        $item = [];
        foreach ($result['Item'] as $name => $value) {
            $item[$name] = current($value);
        }
        return $item;
    }
}
