<?php

/**
 * The DynamoSession settings, read from COMANAGE_REGISTRY_DYNAMODB_* environment variables.
 *
 * Plain PHP on purpose: it needs neither the AWS SDK nor CakePHP, so the parsing and the error messages are unit
 * tested anywhere PHP runs, and a bad variable is reported before any SDK object exists (never a half-configured
 * client). It produces the two arrays the plugin hands to the SDK: the DynamoDbClient options and the
 * SessionHandler config.
 *
 * Rules, all deliberate:
 * - An empty value counts as unset, as in COmanage Registry's core.php, which only switches to DynamoDB sessions
 *   when the variables are non-empty.
 * - The endpoint is optional and, when unset, simply absent from the client options. (The COmanage wrapper passes
 *   getenv()'s false, which the SDK rejects with InvalidArgumentException: spec C90.)
 * - The key pair is optional as a pair: both set means static credentials; neither set means the SDK's default
 *   credential chain (instance/task role, AWS_* variables, ~/.aws), so no 'credentials' option at all.
 * - Every problem found is collected and thrown as one DynamoSessionConfigException naming each variable.
 */
final class DynamoSessionConfig
{
    public const REGION = 'COMANAGE_REGISTRY_DYNAMODB_REGION';
    public const ENDPOINT = 'COMANAGE_REGISTRY_DYNAMODB_ENDPOINT';
    public const TABLE = 'COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_TABLE';
    public const ACCESS_KEY = 'COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_ACCESSKEY';
    public const SECRET_KEY = 'COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_SECRETACCESSKEY';
    public const SESSION_TOKEN = 'COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_SESSIONTOKEN';
    public const LOCKING = 'COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_LOCKING';
    public const LIFETIME = 'COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_LIFETIME';
    public const MAX_LOCK_WAIT = 'COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_MAX_LOCK_WAIT';
    public const CONSISTENT_READ = 'COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_CONSISTENT_READ';
    public const RETRIES = 'COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_RETRIES';
    public const CONNECT_TIMEOUT = 'COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_CONNECT_TIMEOUT';
    public const TIMEOUT = 'COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_TIMEOUT';

    /** Every variable this class reads, in the order they are checked and documented. */
    public const VARIABLES = [
        self::REGION,
        self::TABLE,
        self::ENDPOINT,
        self::ACCESS_KEY,
        self::SECRET_KEY,
        self::SESSION_TOKEN,
        self::LOCKING,
        self::LIFETIME,
        self::MAX_LOCK_WAIT,
        self::CONSISTENT_READ,
        self::RETRIES,
        self::CONNECT_TIMEOUT,
        self::TIMEOUT,
    ];

    /**
     * The DynamoDB API version. Pinned rather than 'latest': it is the only DynamoDB API the SDK has ever shipped,
     * and SDK releases before 'version' became optional refuse a client without it.
     */
    public const API_VERSION = '2012-08-10';

    /** The item layout of the CloudFormation table and of COmanage's wrapper; not configurable on purpose. */
    public const HASH_KEY = 'id';
    public const DATA_ATTRIBUTE = 'data';
    public const LIFETIME_ATTRIBUTE = 'expires';

    private const BOOLEANS = [
        'true' => true, '1' => true, 'yes' => true, 'on' => true,
        'false' => false, '0' => false, 'no' => false, 'off' => false,
    ];

    /** @var array<string, mixed> */
    private array $clientOptions;

    /** @var array<string, mixed> */
    private array $handlerConfig;

    /** @var array<string, mixed> the effective settings, secrets redacted, for the shell and for logs */
    private array $summary;

    /**
     * @param array<string, mixed> $clientOptions
     * @param array<string, mixed> $handlerConfig
     * @param array<string, mixed> $summary
     */
    private function __construct(array $clientOptions, array $handlerConfig, array $summary)
    {
        $this->clientOptions = $clientOptions;
        $this->handlerConfig = $handlerConfig;
        $this->summary = $summary;
    }

    /**
     * Reads the process environment (getenv(), which is what php-fpm's env[...] and Apache's SetEnv feed).
     *
     * @throws DynamoSessionConfigException naming every missing or invalid variable
     */
    public static function fromEnvironment(): self
    {
        $env = [];
        foreach (self::VARIABLES as $name) {
            $value = getenv($name);
            if ($value !== false) {
                $env[$name] = $value;
            }
        }
        return self::fromArray($env);
    }

    /**
     * @param array<string, string|false|null> $env variable name => value; absent, null, false and '' mean unset
     * @throws DynamoSessionConfigException naming every missing or invalid variable
     */
    public static function fromArray(array $env): self
    {
        $problems = [];
        $get = static function (string $name) use ($env): ?string {
            $value = $env[$name] ?? null;
            if ($value === null || $value === false || $value === '') {
                return null;
            }
            return (string) $value;
        };

        // Required: region and table.
        $region = $get(self::REGION);
        if ($region === null) {
            $problems[self::REGION] = 'is not set (the AWS region of the session table, e.g. us-east-1)';
        } elseif (preg_match('/^[a-z0-9]+(-[a-z0-9]+)*$/', $region) !== 1) {
            $problems[self::REGION] = 'must be an AWS region name such as us-east-1 (lower-case letters, digits and'
                . ' dashes), got ' . self::quote($region);
        }

        $table = $get(self::TABLE);
        if ($table === null) {
            $problems[self::TABLE] = 'is not set (the DynamoDB table that holds the sessions)';
        } elseif (preg_match('/^[A-Za-z0-9_.-]{3,255}$/', $table) !== 1) {
            // DynamoDB's own naming rule; checking it here turns a ValidationException on the first request into a
            // configuration error that names the variable.
            $problems[self::TABLE] = 'must be a DynamoDB table name (3 to 255 characters from A-Z a-z 0-9 _ - .),'
                . ' got ' . self::quote($table);
        }

        // Optional endpoint: absent from the client options when unset.
        $endpoint = $get(self::ENDPOINT);
        if ($endpoint !== null) {
            $parts = preg_match('/\s/', $endpoint) === 1 ? false : parse_url($endpoint);
            $scheme = is_array($parts) ? strtolower((string) ($parts['scheme'] ?? '')) : '';
            if (!is_array($parts) || !in_array($scheme, ['http', 'https'], true) || empty($parts['host'])) {
                $problems[self::ENDPOINT] = 'must be an http:// or https:// URL such as http://127.0.0.1:8000, or be'
                    . ' left unset to use the regional AWS endpoint; got ' . self::quote($endpoint);
            }
        }

        // Optional credentials, all or nothing.
        $key = $get(self::ACCESS_KEY);
        $secret = $get(self::SECRET_KEY);
        $token = $get(self::SESSION_TOKEN);
        foreach ([self::ACCESS_KEY => $key, self::SECRET_KEY => $secret, self::SESSION_TOKEN => $token] as $n => $v) {
            if ($v !== null && preg_match('/\s/', $v) === 1) {
                // A pasted key with a trailing newline fails only at signing time, as an opaque
                // signature mismatch; say so here instead. The value itself is never echoed.
                $problems[$n] = 'contains whitespace (check for a trailing newline or space when it was pasted)';
            }
        }
        if ($key !== null && $secret === null) {
            $problems[self::SECRET_KEY] = 'is not set but ' . self::ACCESS_KEY . ' is: set both for static'
                . ' credentials, or neither to use the SDK default credential chain (e.g. an instance or task role)';
        } elseif ($key === null && $secret !== null) {
            $problems[self::ACCESS_KEY] = 'is not set but ' . self::SECRET_KEY . ' is: set both for static'
                . ' credentials, or neither to use the SDK default credential chain (e.g. an instance or task role)';
        }
        if ($token !== null && ($key === null || $secret === null) && !isset($problems[self::SESSION_TOKEN])) {
            $problems[self::SESSION_TOKEN] = 'is set but is only used together with ' . self::ACCESS_KEY . ' and '
                . self::SECRET_KEY;
        }

        $locking = self::parseBool($get(self::LOCKING), self::LOCKING, $problems) ?? false;
        $consistentRead = self::parseBool($get(self::CONSISTENT_READ), self::CONSISTENT_READ, $problems);
        // A lifetime of 0 would make every session expire at once (spec C03), so the minimum is 1 second.
        $lifetime = self::parseInt($get(self::LIFETIME), self::LIFETIME, 1, 'seconds', $problems);
        // 0 is meaningful: exactly one lock attempt (spec C49).
        $maxLockWait = self::parseInt($get(self::MAX_LOCK_WAIT), self::MAX_LOCK_WAIT, 0, 'seconds', $problems);
        $retries = self::parseInt($get(self::RETRIES), self::RETRIES, 0, 'retries', $problems);
        $connectTimeout = self::parseSeconds($get(self::CONNECT_TIMEOUT), self::CONNECT_TIMEOUT, $problems);
        $timeout = self::parseSeconds($get(self::TIMEOUT), self::TIMEOUT, $problems);

        if ($problems !== []) {
            // Loaded here rather than at the top of the file so this file stays usable on its own (tests, tools)
            // without side effects at include time; under CakePHP App::uses() has usually loaded it already.
            if (!class_exists('DynamoSessionConfigException')) {
                require_once __DIR__ . DIRECTORY_SEPARATOR . 'DynamoSessionConfigException.php';
            }
            throw new DynamoSessionConfigException($problems);
        }

        $client = [
            'version' => self::API_VERSION,
            'region' => $region,
        ];
        if ($endpoint !== null) {
            $client['endpoint'] = $endpoint;
        }
        if ($key !== null && $secret !== null) {
            $client['credentials'] = ['key' => $key, 'secret' => $secret];
            if ($token !== null) {
                $client['credentials']['token'] = $token;
            }
        }
        if ($retries !== null) {
            // An integer keeps the SDK's legacy retry mode with that many retries (n + 1 attempts). Unset leaves
            // DynamoDbClient's own default of 10 (spec §2).
            $client['retries'] = $retries;
        }
        $http = [];
        if ($connectTimeout !== null) {
            $http['connect_timeout'] = $connectTimeout;
        }
        if ($timeout !== null) {
            $http['timeout'] = $timeout;
        }
        if ($http !== []) {
            // The SDK sets no timeout by default, so a hung endpoint blocks the PHP worker (spec C63).
            $client['http'] = $http;
        }

        $handler = [
            'table_name' => $table,
            'hash_key' => self::HASH_KEY,
            'data_attribute' => self::DATA_ATTRIBUTE,
            'session_lifetime_attribute' => self::LIFETIME_ATTRIBUTE,
            'locking' => $locking,
        ];
        if ($lifetime !== null) {
            // Unset: the SDK reads session.gc_maxlifetime when the handler is built, after CakePHP's ini_set.
            $handler['session_lifetime'] = $lifetime;
        }
        if ($maxLockWait !== null) {
            $handler['max_lock_wait_time'] = $maxLockWait;
        }
        if ($consistentRead !== null) {
            // Always a real boolean: the SDK sends the value as given and rejects an integer (spec C07).
            $handler['consistent_read'] = $consistentRead;
        }

        $summary = [
            self::REGION => $region,
            self::TABLE => $table,
            self::ENDPOINT => $endpoint ?? '(unset: the regional AWS endpoint)',
            'credentials' => $key !== null
                ? 'static key ' . self::redact($key) . ($token !== null ? ' with session token' : '')
                : '(unset: the SDK default credential chain)',
            self::LOCKING => $locking ? 'true' : 'false',
            self::LIFETIME => $lifetime ?? '(unset: session.gc_maxlifetime when the handler is built)',
            self::MAX_LOCK_WAIT => $maxLockWait ?? '(unset: SDK default 10)',
            self::CONSISTENT_READ => $consistentRead === null ? '(unset: SDK default true)'
                : ($consistentRead ? 'true' : 'false'),
            self::RETRIES => $retries ?? '(unset: SDK default 10)',
            self::CONNECT_TIMEOUT => $connectTimeout ?? '(unset: no SDK timeout)',
            self::TIMEOUT => $timeout ?? '(unset: no SDK timeout)',
        ];

        return new self($client, $handler, $summary);
    }

    /**
     * Options for `new Aws\DynamoDb\DynamoDbClient(...)`.
     *
     * @return array<string, mixed>
     */
    public function clientOptions(): array
    {
        return $this->clientOptions;
    }

    /**
     * Config for `Aws\DynamoDb\SessionHandler::fromClient($client, ...)`.
     *
     * @return array<string, mixed>
     */
    public function handlerConfig(): array
    {
        return $this->handlerConfig;
    }

    /**
     * The effective settings with the secret and most of the access key hidden, for the shell's `config` command.
     *
     * @return array<string, mixed>
     */
    public function summary(): array
    {
        return $this->summary;
    }

    /**
     * @param array<string, string> $problems
     */
    private static function parseBool(?string $value, string $name, array &$problems): ?bool
    {
        if ($value === null) {
            return null;
        }
        $normalised = strtolower($value);
        if (!array_key_exists($normalised, self::BOOLEANS)) {
            $problems[$name] = 'must be one of true, false, 1, 0, yes, no, on, off; got ' . self::quote($value);
            return null;
        }
        return self::BOOLEANS[$normalised];
    }

    /**
     * @param array<string, string> $problems
     */
    private static function parseInt(?string $value, string $name, int $min, string $unit, array &$problems): ?int
    {
        if ($value === null) {
            return null;
        }
        // Digits only: no sign, no exponent, no surrounding spaces, no silent truncation of "1.5" or "10s".
        $int = preg_match('/^[0-9]{1,18}$/', $value) === 1 ? (int) $value : null;
        if ($int === null || $int < $min) {
            $problems[$name] = 'must be a whole number of ' . $unit . ' >= ' . $min . ', got ' . self::quote($value);
            return null;
        }
        return $int;
    }

    /**
     * @param array<string, string> $problems
     */
    private static function parseSeconds(?string $value, string $name, array &$problems): ?float
    {
        if ($value === null) {
            return null;
        }
        $seconds = preg_match('/^[0-9]{1,9}(\.[0-9]{1,6})?$/', $value) === 1 ? (float) $value : 0.0;
        if ($seconds <= 0.0) {
            // Guzzle reads 0 as "wait forever", the opposite of what someone setting a timeout wants.
            $problems[$name] = 'must be a number of seconds greater than 0 such as 2 or 0.5, got '
                . self::quote($value);
            return null;
        }
        return $seconds;
    }

    private static function quote(string $value): string
    {
        // Keep error messages one line and bounded, whatever was in the variable.
        $printable = preg_replace('/[^\x20-\x7e]/', '?', $value) ?? '';
        if (strlen($printable) > 80) {
            $printable = substr($printable, 0, 77) . '...';
        }
        return '"' . $printable . '"';
    }

    private static function redact(string $key): string
    {
        return strlen($key) > 8 ? substr($key, 0, 4) . '...' . substr($key, -2) : '****';
    }
}
