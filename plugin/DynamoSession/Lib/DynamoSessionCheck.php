<?php

/**
 * The shell's `check` command: tests a deployment from PHP, with the operator's real environment, before sessions
 * are switched over to DynamoDB. The session handler itself fails silently where it hurts most (a wrong table
 * answers every request with an empty session, an unreachable endpoint costs every request the SDK's retries), so
 * this says it out loud, one finding per line:
 *
 * - the environment variables resolve (DynamoSessionConfig; each problem named);
 * - credentials are present (the key pair, or the SDK default credential chain);
 * - DescribeTable: key schema `id` S HASH, table status, billing mode; DescribeTimeToLive: TTL on `expires`;
 * - each action of the seed IAM policy (fixtures/cloudformation/dynamo-session-table.yaml) tried on a probe item
 *   that is removed afterwards, naming the denied ones;
 * - the round-trip latency of those calls;
 * - what the timeout and retry settings cost during an outage, and the session lifetime hazards.
 *
 * Plain PHP: it reaches DynamoDB only through the client its factory returns (an Aws\DynamoDb\DynamoDbClient in
 * the shell; anything with the same methods in the tests) and names no SDK class, so every rule and message is
 * unit tested without a vendor tree. The shell only prints what run() returns.
 */
final class DynamoSessionCheck
{
    public const OK = 'OK';
    public const WARN = 'WARN';
    public const FAIL = 'FAIL';

    /**
     * The seed IAM policy's actions in the order they are probed: what needs each, and what its denial costs.
     * Scan and BatchWriteItem are used by the gc command only, so their denial is a warning (README, IAM policy).
     */
    public const ACTIONS = [
        'UpdateItem' => ['write, close, locking mode\'s lock', 'every session write is lost'],
        'GetItem' => ['read', 'every read comes back empty: every user looks logged out'],
        'Scan' => ['the gc command', 'the gc command cannot run; fine if TTL on expires removes expired sessions'],
        'BatchWriteItem' => [
            'the gc command\'s deletes',
            'the gc command cannot delete; fine if TTL on expires removes expired sessions',
        ],
        'DeleteItem' => ['destroy at logout, expired items found on read', 'logout and expired-session cleanup fail'],
    ];

    /** The probe item's key starts with this; it can never be a session key (those are `<cookie name>_<id>`). */
    public const PROBE_PREFIX = 'DynamoSessionCheck_probe_';

    /** A median round trip above this (ms) is a warning: every page waits for at least two calls. */
    public const SLOW_MS = 100.0;

    /** Item lifetimes longer than this many CakePHP timeouts are a warning. */
    public const LIFETIME_FACTOR = 10;

    /** The DynamoDbClient default when ..._RETRIES is unset (legacy retry mode). */
    public const SDK_DEFAULT_RETRIES = 10;

    /** CakePHP 2's Session.timeout in its 'php', 'cake', 'cache' and 'database' presets, in minutes. */
    public const CAKE_PRESET_TIMEOUT = 240;

    public const CREDENTIALS_HINT = 'set ' . DynamoSessionConfig::ACCESS_KEY . ' and ' . DynamoSessionConfig::SECRET_KEY
        . ' for a static key, or give PHP an SDK default credential source (AWS_ACCESS_KEY_ID and'
        . ' AWS_SECRET_ACCESS_KEY, AWS_PROFILE with ~/.aws/credentials, web identity, an ECS task role or an EC2'
        . ' instance role)';

    /** Error codes meaning DynamoDB refused the credentials (as opposed to a permission). */
    private const AUTH_CODES = [
        'UnrecognizedClientException', 'InvalidSignatureException', 'IncompleteSignatureException',
        'ExpiredTokenException', 'InvalidClientTokenId', 'MissingAuthenticationTokenException',
        'SignatureDoesNotMatch',
    ];

    /** @var callable(DynamoSessionConfig): object */
    private $clientFactory;

    /** @var array<string, mixed> */
    private array $sessionBlock;

    /** @var string|false */
    private $phpLifetime;

    /** @var array<string, string|false|null>|null */
    private ?array $env;

    /** @var object|null */
    private $client = null;

    private ?DynamoSessionConfig $config = null;

    /** @var list<array{status: string, check: string, message: string}> */
    private array $findings = [];

    /** @var list<float> milliseconds of each successful call */
    private array $latencies = [];

    /** Set by a failure that makes every further call pointless (no table, no network, bad credentials). */
    private bool $stopped = false;

    /**
     * @param callable(DynamoSessionConfig): object $clientFactory builds the DynamoDB client from the settings
     * @param array<string, mixed> $sessionBlock Configure::read('Session'): CakePHP's Session block
     * @param string|false $phpLifetime ini_get('session.gc_maxlifetime') of this process
     * @param array<string, string|false|null>|null $env the variables to check; null reads the process environment
     */
    public function __construct(callable $clientFactory, array $sessionBlock, $phpLifetime, ?array $env = null)
    {
        $this->clientFactory = $clientFactory;
        $this->sessionBlock = $sessionBlock;
        $this->phpLifetime = $phpLifetime;
        $this->env = $env;
    }

    /**
     * Runs every check once.
     *
     * @return list<array{status: string, check: string, message: string}>
     */
    public function run(): array
    {
        $this->findings = [];
        $this->latencies = [];
        $this->stopped = false;
        try {
            $this->config = $this->env === null
                ? DynamoSessionConfig::fromEnvironment()
                : DynamoSessionConfig::fromArray($this->env);
        } catch (DynamoSessionConfigException $e) {
            foreach ($e->getProblems() as $variable => $problem) {
                $this->add(self::FAIL, 'config', $variable . ' ' . $problem);
            }
            return $this->findings;
        }
        $this->add(self::OK, 'config', self::describeConfig($this->config));
        try {
            $this->client = ($this->clientFactory)($this->config);
        } catch (Throwable $e) {
            $this->add(self::FAIL, 'client', self::describeError($e));
            $this->stopped = true;
        }
        if (!$this->stopped && $this->credentials()) {
            $this->table();
            $this->timeToLive();
            $this->probe();
        }
        $latency = self::latencyFinding($this->latencies);
        if ($latency !== null) {
            $this->findings[] = $latency;
        }
        $this->findings[] = self::clientFinding($this->config);
        $this->findings[] = self::sessionFinding($this->config, $this->sessionBlock, $this->phpLifetime);
        return $this->findings;
    }

    /**
     * @param array{status: string, check: string, message: string} $finding
     */
    public static function line(array $finding): string
    {
        return sprintf('%-4s %s: %s', $finding['status'], $finding['check'], $finding['message']);
    }

    /**
     * @param list<array{status: string, check: string, message: string}> $findings
     */
    public static function failed(array $findings): bool
    {
        return in_array(self::FAIL, array_column($findings, 'status'), true);
    }

    /**
     * @param list<array{status: string, check: string, message: string}> $findings
     */
    public static function summary(array $findings): string
    {
        $counts = array_count_values(array_column($findings, 'status')) + [self::FAIL => 0, self::WARN => 0];
        $warnings = $counts[self::WARN] . ($counts[self::WARN] === 1 ? ' warning' : ' warnings');
        if ($counts[self::FAIL] > 0) {
            return sprintf(
                'DynamoSession check: %d failed, %s. Do not switch sessions to DynamoDB until every FAIL is fixed.',
                $counts[self::FAIL],
                $warnings
            );
        }
        return 'DynamoSession check: no failures, ' . $warnings . '.';
    }

    /**
     * One line for an exception, for the shell's error output: the missing-credentials errors name the variables
     * to set, SDK errors give operation, error code and message instead of the multi-line HTTP dump.
     */
    public static function describeError(Throwable $e): string
    {
        if (self::isCredentialsError($e)) {
            return 'no AWS credentials found: ' . self::CREDENTIALS_HINT . ' (SDK: ' . self::oneLine($e) . ')';
        }
        $command = method_exists($e, 'getCommand') ? $e->getCommand() : null;
        $operation = is_object($command) && method_exists($command, 'getName') ? (string) $command->getName() : '';
        $prefix = $operation !== '' ? $operation . ' failed: ' : '';
        if (method_exists($e, 'isConnectionError') && $e->isConnectionError()) {
            $request = method_exists($e, 'getRequest') ? $e->getRequest() : null;
            $uri = is_object($request) && method_exists($request, 'getUri') ? ' from ' . $request->getUri() : '';
            return $prefix . 'no answer' . $uri . ': ' . self::connectionReason($e);
        }
        $code = self::awsCode($e);
        if ($code === null) {
            return self::oneLine($e);
        }
        $message = method_exists($e, 'getAwsErrorMessage') ? trim((string) $e->getAwsErrorMessage()) : '';
        return $prefix . $code . ($message !== '' ? ': ' . self::bounded($message) : '');
    }

    /**
     * Upper bound, in seconds, of the SDK's legacy back-off over $retries retries for DynamoDB: retry n (0-based)
     * waits a random time up to min(20 s, 100 ms * 2^n) / 2, and the first retry none at all (SDK 3.339
     * DynamoDbClient::_applyRetryConfig with RetryMiddleware::exponentialDelay). 10 retries: 32.7 s.
     */
    public static function maxBackoff(int $retries): float
    {
        $ms = 0;
        for ($n = 1; $n < $retries; $n++) {
            $ms += min(20000, 100 * 2 ** $n) / 2;
        }
        return $ms / 1000;
    }

    /**
     * What the timeout and retry settings cost when DynamoDB is unreachable or hangs.
     *
     * @return array{status: string, check: string, message: string}
     */
    public static function clientFinding(DynamoSessionConfig $config): array
    {
        $options = $config->clientOptions();
        $retries = isset($options['retries']) && is_int($options['retries'])
            ? $options['retries'] : self::SDK_DEFAULT_RETRIES;
        $connect = $options['http']['connect_timeout'] ?? null;
        $timeout = $options['http']['timeout'] ?? null;
        $backoff = self::maxBackoff($retries);
        $retryText = $retries . ($retries === 1 ? ' retry' : ' retries')
            . (isset($options['retries']) ? '' : ' (SDK default)');
        if ($timeout === null) {
            $unset = DynamoSessionConfig::TIMEOUT . ($connect === null ? ' and ' . DynamoSessionConfig::CONNECT_TIMEOUT
                : '') . ' unset';
            return self::finding(self::WARN, 'client', sprintf(
                '%s, %s: an endpoint that accepts connections but does not answer holds each request'
                . ' indefinitely%s, and one that refuses them costs up to %s s of back-off per call (a page makes at'
                . ' least two). See README "Timeouts and retries".',
                $unset,
                $retryText,
                $connect === null ? ', one that drops packets the system\'s connect timeout (minutes) per attempt' : '',
                self::seconds($backoff)
            ));
        }
        $worst = ($retries + 1) * (float) $timeout + $backoff;
        return self::finding(self::OK, 'client', sprintf(
            'timeout %s s, connect timeout %s, %s: an outage costs at most ~%s s per DynamoDB call (a page makes at'
            . ' least two)',
            self::seconds((float) $timeout),
            $connect === null ? 'within the timeout' : self::seconds((float) $connect) . ' s',
            $retryText,
            self::seconds($worst)
        ));
    }

    /**
     * The two idle clocks: the DynamoDB item lifetime (`expires`) against CakePHP's Session.timeout.
     *
     * @param array<string, mixed> $sessionBlock Configure::read('Session')
     * @param string|false $phpLifetime ini_get('session.gc_maxlifetime') of this process
     * @return array{status: string, check: string, message: string}
     */
    public static function sessionFinding(DynamoSessionConfig $config, array $sessionBlock, $phpLifetime): array
    {
        $timeout = $sessionBlock['timeout'] ?? null;
        if ($timeout === null && isset($sessionBlock['defaults'])) {
            $timeout = self::CAKE_PRESET_TIMEOUT;
        }
        if (!is_numeric($timeout) || (float) $timeout <= 0) {
            return self::finding(self::WARN, 'session', 'Session.timeout is not configured (is the Session block of'
                . ' Config/core.php loaded?), so the item lifetime could not be compared with it');
        }
        $timeoutSeconds = (int) round((float) $timeout * 60);
        [$lifetime, $source] = self::itemLifetime($config, $sessionBlock, $phpLifetime, $timeoutSeconds);
        $both = sprintf(
            'DynamoDB items live %d s (%s), CakePHP\'s Session.timeout is %s min (%d s)',
            $lifetime,
            $source,
            self::seconds((float) $timeout),
            $timeoutSeconds
        );
        if ($lifetime < $timeoutSeconds) {
            return self::finding(self::WARN, 'session', $both . ': a user idle for longer than ' . $lifetime . ' s'
                . ' keeps the session id but loses the data, and looks logged out before CakePHP\'s timeout');
        }
        if ($lifetime > self::LIFETIME_FACTOR * $timeoutSeconds) {
            return self::finding(self::WARN, 'session', $both . ': more than ' . self::LIFETIME_FACTOR . 'x, so'
                . ' abandoned sessions stay in the table (and in gc scans) long after CakePHP stopped honouring them');
        }
        return self::finding(self::OK, 'session', $both);
    }

    /**
     * The lifetime the SDK will write into `expires`, and where it comes from, as CakePHP sets it up for a request.
     *
     * @param array<string, mixed> $sessionBlock
     * @param string|false $phpLifetime
     * @return array{int, string}
     */
    private static function itemLifetime(
        DynamoSessionConfig $config,
        array $sessionBlock,
        $phpLifetime,
        int $timeout
    ): array {
        $handler = $config->handlerConfig();
        if (isset($handler['session_lifetime'])) {
            return [(int) $handler['session_lifetime'], DynamoSessionConfig::LIFETIME];
        }
        $ini = $sessionBlock['ini']['session.gc_maxlifetime'] ?? null;
        if (is_numeric($ini)) {
            return [(int) $ini, 'Session.ini session.gc_maxlifetime'];
        }
        if ($sessionBlock !== []) {
            // CakeSession sets session.gc_maxlifetime to timeout * 60 when the Session block does not.
            return [$timeout, 'CakePHP default: Session.timeout * 60'];
        }
        return [(int) $phpLifetime, 'session.gc_maxlifetime of php.ini (the web server\'s may differ)'];
    }

    private function credentials(): bool
    {
        $options = $this->config->clientOptions();
        if (isset($options['credentials'])) {
            $this->add(self::OK, 'credentials', $this->config->summary()['credentials'] . ' from '
                . DynamoSessionConfig::ACCESS_KEY . ' (the calls below show whether DynamoDB accepts it)');
            return true;
        }
        try {
            $credentials = $this->client->getCredentials()->wait();
            $key = is_object($credentials) && method_exists($credentials, 'getAccessKeyId')
                ? (string) $credentials->getAccessKeyId() : '';
            $this->add(self::OK, 'credentials', 'found through the SDK default credential chain'
                . ($key !== '' ? ' (access key ' . self::redact($key) . ')' : ''));
            return true;
        } catch (Throwable $e) {
            $this->add(self::FAIL, 'credentials', 'none found: ' . self::CREDENTIALS_HINT . ' (SDK: '
                . self::oneLine($e) . ')');
            $this->stopped = true;
            return false;
        }
    }

    private function table(): void
    {
        [$result, $error] = $this->call('DescribeTable', ['TableName' => $this->tableName()]);
        if ($error !== null) {
            if (self::awsCode($error) === 'AccessDeniedException') {
                $this->add(self::WARN, 'table', 'dynamodb:DescribeTable denied, so key schema and billing mode were'
                    . ' not checked (the session policy does not need it; the probes below still use the key)');
            } elseif (!$this->stopped) {
                $this->add(self::WARN, 'table', 'DescribeTable: ' . self::describeError($error));
            }
            return;
        }
        foreach (self::tableFindings((array) ($result['Table'] ?? [])) as $finding) {
            $this->findings[] = $finding;
            if ($finding['status'] === self::FAIL) {
                $this->stopped = true;
            }
        }
    }

    /**
     * DescribeTable's `Table`: key schema, status, billing.
     *
     * @param array<string, mixed> $table
     * @return list<array{status: string, check: string, message: string}>
     */
    public static function tableFindings(array $table): array
    {
        $name = (string) ($table['TableName'] ?? '?');
        $types = [];
        foreach ((array) ($table['AttributeDefinitions'] ?? []) as $definition) {
            $types[(string) ($definition['AttributeName'] ?? '')] = (string) ($definition['AttributeType'] ?? '?');
        }
        $keys = [];
        foreach ((array) ($table['KeySchema'] ?? []) as $element) {
            $attribute = (string) ($element['AttributeName'] ?? '?');
            $keys[] = $attribute . ' ' . ($types[$attribute] ?? '?') . ' ' . ($element['KeyType'] ?? '?');
        }
        $wanted = DynamoSessionConfig::HASH_KEY . ' S HASH';
        $findings = [];
        if ($keys !== [$wanted]) {
            $findings[] = self::finding(self::FAIL, 'table', sprintf(
                '%s has key schema %s; the SDK handler needs exactly %s: create the table from'
                . ' fixtures/cloudformation/dynamo-session-table.yaml (access checks skipped)',
                $name,
                $keys === [] ? '(none reported)' : implode(', ', $keys),
                $wanted
            ));
            return $findings;
        }
        $status = (string) ($table['TableStatus'] ?? '?');
        $count = isset($table['ItemCount']) ? ', about ' . (int) $table['ItemCount'] . ' items' : '';
        $findings[] = self::finding(
            $status === 'ACTIVE' ? self::OK : self::WARN,
            'table',
            sprintf('%s: key schema %s, status %s%s', $name, $wanted, $status, $count)
        );

        $throughput = (array) ($table['ProvisionedThroughput'] ?? []);
        $read = (int) ($throughput['ReadCapacityUnits'] ?? 0);
        $write = (int) ($throughput['WriteCapacityUnits'] ?? 0);
        $mode = $table['BillingModeSummary']['BillingMode'] ?? ($read === 0 && $write === 0 ? 'PAY_PER_REQUEST'
            : 'PROVISIONED');
        if ($mode === 'PAY_PER_REQUEST') {
            $findings[] = self::finding(self::OK, 'billing', 'PAY_PER_REQUEST (on-demand)');
        } else {
            $findings[] = self::finding(self::WARN, 'billing', sprintf(
                '%s, %d read / %d write capacity units: requests beyond them are throttled, and a read throttled'
                . ' past the retries reads as an empty session (logged out); on-demand (PAY_PER_REQUEST) or auto'
                . ' scaling avoids it',
                (string) $mode,
                $read,
                $write
            ));
        }
        return $findings;
    }

    private function timeToLive(): void
    {
        if ($this->stopped) {
            return;
        }
        [$result, $error] = $this->call('DescribeTimeToLive', ['TableName' => $this->tableName()]);
        if ($error !== null) {
            if (self::awsCode($error) === 'AccessDeniedException') {
                $this->add(self::WARN, 'ttl', 'dynamodb:DescribeTimeToLive denied, so TTL on '
                    . DynamoSessionConfig::LIFETIME_ATTRIBUTE . ' was not checked');
            } elseif (!$this->stopped) {
                $this->add(self::WARN, 'ttl', 'not checked: ' . self::describeError($error));
            }
            return;
        }
        $this->findings[] = self::ttlFinding((array) ($result['TimeToLiveDescription'] ?? []));
    }

    /**
     * @param array<string, mixed> $description DescribeTimeToLive's TimeToLiveDescription
     * @return array{status: string, check: string, message: string}
     */
    public static function ttlFinding(array $description): array
    {
        $status = (string) ($description['TimeToLiveStatus'] ?? 'DISABLED');
        $attribute = (string) ($description['AttributeName'] ?? '');
        $expected = DynamoSessionConfig::LIFETIME_ATTRIBUTE;
        $without = 'expired sessions are deleted only when read again or by the gc command: enable TTL on '
            . $expected . ' (TimeToLiveSpecification in the CloudFormation template) or run gc from cron';
        if (in_array($status, ['ENABLED', 'ENABLING'], true) && $attribute === $expected) {
            return self::finding(self::OK, 'ttl', $status . ' on ' . $expected);
        }
        if (in_array($status, ['ENABLED', 'ENABLING'], true)) {
            return self::finding(self::WARN, 'ttl', $status . ' on ' . $attribute . ', not on ' . $expected . ': '
                . $without);
        }
        return self::finding(self::WARN, 'ttl', $status . ': ' . $without);
    }

    /**
     * Each action of the seed policy, on an item no session can have, removed again at the end.
     */
    private function probe(): void
    {
        if ($this->stopped) {
            return;
        }
        $table = $this->tableName();
        $probe = self::PROBE_PREFIX . bin2hex(random_bytes(8));
        $key = [DynamoSessionConfig::HASH_KEY => ['S' => $probe]];
        $data = 'DynamoSession check ' . gmdate('c');
        // A write the way the SDK's session handler makes it (legacy AttributeUpdates), so a backend that mishandles
        // those shows up here. The expiry lets TTL or gc remove the probe should the check die before its delete.
        $written = $this->action('UpdateItem', [
            'TableName' => $table,
            'Key' => $key,
            'AttributeUpdates' => [
                DynamoSessionConfig::LIFETIME_ATTRIBUTE => ['Value' => ['N' => (string) (time() + 600)]],
                'lock' => ['Action' => 'DELETE'],
                DynamoSessionConfig::DATA_ATTRIBUTE => ['Value' => ['S' => $data]],
            ],
        ]);
        $read = $this->action('GetItem', ['TableName' => $table, 'Key' => $key, 'ConsistentRead' => true]);
        if ($written !== null && $read !== null) {
            $stored = $read['Item'][DynamoSessionConfig::DATA_ATTRIBUTE]['S'] ?? null;
            if ($stored !== $data) {
                $this->add(self::FAIL, 'probe', 'the item written with UpdateItem read back '
                    . ($stored === null ? 'without its ' . DynamoSessionConfig::DATA_ATTRIBUTE . ' attribute'
                        : 'with different data')
                    . ': this backend does not store the SDK\'s writes (DynamoDB Local 3.x ignores AttributeUpdates)');
            }
        }
        $this->action('Scan', [
            'TableName' => $table,
            'Limit' => 1,
            // Only the key: no user's session data is fetched.
            'ProjectionExpression' => '#k',
            'ExpressionAttributeNames' => ['#k' => DynamoSessionConfig::HASH_KEY],
        ]);
        // On a second key that does not exist, so the probe's own removal is DeleteItem's test.
        $batch = $this->action('BatchWriteItem', ['RequestItems' => [$table => [
            ['DeleteRequest' => ['Key' => [DynamoSessionConfig::HASH_KEY => ['S' => $probe . '_batch']]]],
        ]]]);
        $deleted = $this->action('DeleteItem', ['TableName' => $table, 'Key' => $key]);
        if ($written === null || $this->stopped) {
            return;
        }
        if ($deleted === null && $batch !== null) {
            // DeleteItem failed but BatchWriteItem works: remove the probe with that instead.
            $deleted = $this->call('BatchWriteItem', ['RequestItems' => [$table => [
                ['DeleteRequest' => ['Key' => $key]],
            ]]])[0];
        }
        if ($deleted === null) {
            $this->add(self::WARN, 'probe', 'item ' . $probe . ' may be left in the table; it expires within 10'
                . ' minutes (TTL or gc remove it), or delete it by hand');
        }
    }

    /**
     * Calls one action of the policy and records whether it is allowed.
     *
     * @param array<string, mixed> $args
     * @return array<string, mixed>|null the result, or null when the call failed
     */
    private function action(string $action, array $args): ?array
    {
        if ($this->stopped) {
            return null;
        }
        [$result, $error, $ms] = $this->call($action, $args);
        [$usedFor, $cost] = self::ACTIONS[$action];
        if ($error === null) {
            $this->add(self::OK, 'iam', sprintf('dynamodb:%s allowed (%s; %d ms)', $action, $usedFor, round($ms)));
            return $result;
        }
        if ($this->stopped) {
            return null;
        }
        $gcOnly = in_array($action, ['Scan', 'BatchWriteItem'], true);
        if (self::awsCode($error) === 'AccessDeniedException') {
            $this->add($gcOnly ? self::WARN : self::FAIL, 'iam', sprintf(
                'dynamodb:%s denied (needed for %s): %s',
                $action,
                $usedFor,
                $cost
            ));
        } else {
            $this->add(self::FAIL, 'iam', 'dynamodb:' . $action . ' failed: ' . self::describeError($error));
        }
        return null;
    }

    /**
     * One timed call. Failures that make every further call pointless are reported here and stop the checks.
     *
     * @param array<string, mixed> $args
     * @return array{0: array<string, mixed>|null, 1: Throwable|null, 2: float}
     */
    private function call(string $operation, array $args): array
    {
        $started = microtime(true);
        try {
            $result = $this->client->{lcfirst($operation)}($args);
            $ms = (microtime(true) - $started) * 1000;
            $this->latencies[] = $ms;
            $array = is_object($result) && method_exists($result, 'toArray') ? $result->toArray() : (array) $result;
            return [$array, null, $ms];
        } catch (Throwable $e) {
            $ms = (microtime(true) - $started) * 1000;
        }
        $code = self::awsCode($e);
        $where = $this->endpoint();
        if (self::isCredentialsError($e)) {
            $this->add(self::FAIL, 'credentials', self::describeError($e));
            $this->stopped = true;
        } elseif (method_exists($e, 'isConnectionError') && $e->isConnectionError()) {
            $this->add(self::FAIL, 'endpoint', sprintf(
                'cannot reach %s: %s gave up after %.2f s (%s). Every session read and write would wait as long and'
                . ' then fail: check %s, %s and the network path; %s and %s bound the wait',
                $where,
                $operation,
                $ms / 1000,
                self::connectionReason($e),
                DynamoSessionConfig::REGION,
                DynamoSessionConfig::ENDPOINT,
                DynamoSessionConfig::TIMEOUT,
                DynamoSessionConfig::RETRIES
            ));
            $this->stopped = true;
        } elseif ($code === 'ResourceNotFoundException') {
            $this->add(self::FAIL, 'table', sprintf(
                '%s does not exist in %s at %s: every session write would be lost and every user would look logged'
                . ' out. Check %s and %s, or create the table from fixtures/cloudformation/dynamo-session-table.yaml',
                $this->tableName(),
                (string) $this->config->clientOptions()['region'],
                $where,
                DynamoSessionConfig::TABLE,
                DynamoSessionConfig::REGION
            ));
            $this->stopped = true;
        } elseif (in_array($code, self::AUTH_CODES, true)) {
            $this->add(self::FAIL, 'credentials', 'rejected by DynamoDB: ' . self::describeError($e) . '. Check '
                . DynamoSessionConfig::ACCESS_KEY . ', ' . DynamoSessionConfig::SECRET_KEY . ' and '
                . DynamoSessionConfig::SESSION_TOKEN . ', or the role the SDK found');
            $this->stopped = true;
        }
        return [null, $e, $ms];
    }

    /**
     * @param list<float> $latencies milliseconds of the successful calls
     * @return array{status: string, check: string, message: string}|null null when no call succeeded
     */
    public static function latencyFinding(array $latencies): ?array
    {
        if ($latencies === []) {
            return null;
        }
        sort($latencies);
        $count = count($latencies);
        $median = $count % 2 === 1 ? $latencies[intdiv($count, 2)]
            : ($latencies[$count / 2 - 1] + $latencies[$count / 2]) / 2;
        $text = sprintf(
            'round trip min %d / median %d / max %d ms over %d calls',
            round($latencies[0]),
            round($median),
            round($latencies[$count - 1]),
            $count
        );
        if ($median > self::SLOW_MS) {
            return self::finding(self::WARN, 'latency', $text . ': every page waits for at least two calls; is the'
                . ' table in another region than the web servers?');
        }
        return self::finding(self::OK, 'latency', $text);
    }

    private function tableName(): string
    {
        return (string) $this->config->handlerConfig()['table_name'];
    }

    private function endpoint(): string
    {
        $options = $this->config->clientOptions();
        if (isset($options['endpoint'])) {
            return (string) $options['endpoint'];
        }
        if (is_object($this->client) && method_exists($this->client, 'getEndpoint')) {
            return (string) $this->client->getEndpoint();
        }
        return 'the regional endpoint of ' . (string) $options['region'];
    }

    private function add(string $status, string $check, string $message): void
    {
        $this->findings[] = self::finding($status, $check, $message);
    }

    /**
     * @return array{status: string, check: string, message: string}
     */
    private static function finding(string $status, string $check, string $message): array
    {
        return ['status' => $status, 'check' => $check, 'message' => $message];
    }

    private static function describeConfig(DynamoSessionConfig $config): string
    {
        $summary = $config->summary();
        return sprintf(
            'table %s in %s at %s, %s, %s mode',
            (string) $summary[DynamoSessionConfig::TABLE],
            (string) $summary[DynamoSessionConfig::REGION],
            (string) ($config->clientOptions()['endpoint'] ?? 'the regional AWS endpoint'),
            (string) $summary['credentials'],
            $config->handlerConfig()['locking'] ? 'locking' : 'standard'
        );
    }

    private static function awsCode(Throwable $e): ?string
    {
        if (!method_exists($e, 'getAwsErrorCode')) {
            return null;
        }
        $code = $e->getAwsErrorCode();
        return is_string($code) && $code !== '' ? $code : null;
    }

    /**
     * The SDK reports missing credentials as CredentialsException, or, since the auth scheme resolver (3.28x),
     * as UnresolvedAuthSchemeException "Could not resolve an authentication scheme", possibly wrapped.
     */
    private static function isCredentialsError(Throwable $e): bool
    {
        for ($current = $e; $current !== null; $current = $current->getPrevious()) {
            $class = get_class($current);
            if (
                substr($class, -strlen('CredentialsException')) === 'CredentialsException'
                || substr($class, -strlen('UnresolvedAuthSchemeException')) === 'UnresolvedAuthSchemeException'
                || stripos($current->getMessage(), 'Could not resolve an authentication scheme') !== false
            ) {
                return true;
            }
        }
        return false;
    }

    private static function connectionReason(Throwable $e): string
    {
        $previous = $e->getPrevious();
        $text = $previous !== null ? $previous->getMessage() : $e->getMessage();
        // Guzzle appends the libcurl documentation link and the URL; the cURL error itself is what matters.
        $text = (string) preg_replace('/\s*\(see https?:\/\/curl\.[^)]*\).*$/s', '', $text);
        return self::bounded((string) preg_replace('/\s+/', ' ', trim($text)));
    }

    private static function oneLine(Throwable $e): string
    {
        return self::bounded((string) preg_replace('/\s+/', ' ', trim($e->getMessage())));
    }

    private static function bounded(string $text): string
    {
        return strlen($text) > 400 ? substr($text, 0, 397) . '...' : $text;
    }

    private static function seconds(float $seconds): string
    {
        return rtrim(rtrim(sprintf('%.1f', $seconds), '0'), '.');
    }

    private static function redact(string $key): string
    {
        return strlen($key) > 8 ? substr($key, 0, 4) . '...' . substr($key, -2) : '****';
    }
}
