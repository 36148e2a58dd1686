<?php

/**
 * The `php` subject of the harness: executes the handler-operations protocol of docs/seams.md, one JSON request
 * per input line and one JSON response per output line, in order, against the plugin's DynamoSession class
 * wrapping an SDK SessionHandler.
 *
 * Kept free of CakePHP and SDK references at load time so the protocol layer (bad JSON, unknown operations,
 * missing fields) is unit tested without a vendor tree; handler_worker.php boots CakePHP and the SDK first.
 */
final class DynamoSessionHandlerWorker
{
    public const PROTOCOL_ERROR = 'HarnessProtocolError';

    /** @var object|null the plugin's DynamoSession, wrapping the current SDK handler */
    private $plugin = null;

    /** @var list<string> E_USER_WARNING texts raised during the current operation */
    private array $warnings = [];

    /** @var resource where everything that is not a response goes (never stdout: that is the protocol channel) */
    private $diagnostics;

    /** @var callable(array<string, mixed>, array<string, mixed>): object builds the plugin object */
    private $factory;

    /**
     * @param callable(array<string, mixed>, array<string, mixed>): object $factory given the request's client block
     *     and config, returns a DynamoSession wrapping SessionHandler::fromClient(new DynamoDbClient(...), config)
     * @param resource $diagnostics
     */
    public function __construct(callable $factory, $diagnostics)
    {
        $this->factory = $factory;
        $this->diagnostics = $diagnostics;
    }

    /**
     * Reads requests until end of input. Blank lines are not requests and get no response.
     *
     * @param resource $in
     * @param resource $out
     */
    public function run($in, $out): void
    {
        while (($line = fgets($in)) !== false) {
            if (trim($line) === '') {
                continue;
            }
            fwrite($out, $this->handleLine($line) . "\n");
            fflush($out);
        }
    }

    /**
     * One request line in, one response line out (without the newline).
     */
    public function handleLine(string $line): string
    {
        try {
            $request = json_decode($line, true, 64, JSON_THROW_ON_ERROR);
        } catch (JsonException $e) {
            return self::encode(self::protocolError('request is not valid JSON: ' . $e->getMessage()));
        }
        if (!is_array($request) || array_is_list($request) && $request !== []) {
            return self::encode(self::protocolError('request must be a JSON object'));
        }
        return self::encode($this->handle($request));
    }

    /**
     * @param array<string, mixed> $request
     * @return array{value: mixed, warnings: list<string>, exception: array<string, mixed>|null}
     */
    public function handle(array $request): array
    {
        $op = $request['op'] ?? null;
        if (!is_string($op)) {
            return self::protocolError('request has no "op" string');
        }
        $this->warnings = [];
        set_error_handler([$this, 'onError']);
        try {
            $value = $this->dispatch($op, $request);
            $exception = null;
        } catch (DynamoSessionWorkerProtocolException $e) {
            restore_error_handler();
            return self::protocolError($e->getMessage());
        } catch (Throwable $e) {
            $value = null;
            $exception = self::describe($e);
        }
        restore_error_handler();
        return ['value' => $value, 'warnings' => $this->warnings, 'exception' => $exception];
    }

    /**
     * Collects the handler's E_USER_WARNINGs ("Error writing session ...") for the response; anything else (PHP
     * deprecations and notices from CakePHP or the SDK) goes to stderr, never to stdout.
     */
    public function onError(int $errno, string $errstr, string $errfile = '', int $errline = 0): bool
    {
        if ($errno === E_USER_WARNING) {
            $this->warnings[] = $errstr;
            return true;
        }
        if ((error_reporting() & $errno) !== 0) {
            fwrite(
                $this->diagnostics,
                sprintf("handler_worker: PHP error %d: %s at %s:%d\n", $errno, $errstr, $errfile, $errline)
            );
        }
        return true;
    }

    /**
     * @param array<string, mixed> $request
     * @return mixed
     */
    private function dispatch(string $op, array $request)
    {
        switch ($op) {
            case 'new_handler':
                return $this->newHandler($request);
            case 'set_clock':
                DynamoSessionWorkerClock::set($request['clock'] ?? null);
                return true;
            case 'open':
                return $this->plugin()->open(
                    self::optionalString($request, 'save_path') ?? '',
                    self::string($request, 'name')
                );
            case 'read':
                return ['b64' => base64_encode((string) $this->plugin()->read(self::string($request, 'id')))];
            case 'write':
                $data = base64_decode(self::string($request, 'data_b64'), true);
                if ($data === false) {
                    throw new DynamoSessionWorkerProtocolException('"data_b64" is not valid base64');
                }
                return $this->plugin()->write(self::string($request, 'id'), $data);
            case 'close':
                return $this->close(self::string($request, 'session_id'));
            case 'destroy':
                return $this->plugin()->destroy(self::string($request, 'id'));
            case 'gc':
                $max = $request['max_lifetime'] ?? null;
                if (!is_int($max)) {
                    throw new DynamoSessionWorkerProtocolException('"max_lifetime" must be an integer');
                }
                return $this->plugin()->gc($max);
            case 'garbage_collect':
                $this->plugin()->garbageCollect();
                return null;
            default:
                throw new DynamoSessionWorkerProtocolException('unknown op ' . json_encode($op));
        }
    }

    /**
     * @param array<string, mixed> $request
     */
    private function newHandler(array $request): bool
    {
        // A failed new_handler must not leave the previous handler in place for the next operations.
        $this->plugin = null;
        $client = $request['client'] ?? null;
        $config = $request['config'] ?? [];
        $ini = $request['ini'] ?? [];
        if (!is_array($client)) {
            throw new DynamoSessionWorkerProtocolException('new_handler needs a "client" object');
        }
        if (!is_array($config) || !is_array($ini)) {
            throw new DynamoSessionWorkerProtocolException('"config" and "ini" must be objects');
        }
        foreach ($ini as $name => $value) {
            if (!is_scalar($value) && $value !== null) {
                throw new DynamoSessionWorkerProtocolException('ini value for ' . $name . ' must be a scalar');
            }
            // Before the handler is built: the SDK reads session.gc_maxlifetime once, in its constructor.
            if (ini_set((string) $name, self::iniString($value)) === false) {
                throw new DynamoSessionWorkerProtocolException('ini_set(' . json_encode($name) . ') failed');
            }
        }
        DynamoSessionWorkerClock::set($request['clock'] ?? null);
        $this->plugin = ($this->factory)($client, $config);
        return true;
    }

    /**
     * The SDK's close() touches the key of PHP's *current* session_id(), so it is set to the requested id first.
     * session_id($x) works on the CLI while no session is active; '' clears it.
     */
    private function close(string $sessionId): bool
    {
        $plugin = $this->plugin();
        session_id($sessionId);
        if (session_id() !== $sessionId) {
            // PHP refuses once output has been sent (headers_sent()); the worker writes its responses to the
            // STDOUT stream, which does not count, so this means something echoed. Fail loudly rather than close
            // under the wrong id.
            throw new DynamoSessionWorkerProtocolException(
                'could not set session_id() to ' . json_encode($sessionId) . ' (output already sent?)'
            );
        }
        return $plugin->close();
    }

    /**
     * @return object
     */
    private function plugin()
    {
        if ($this->plugin === null) {
            throw new DynamoSessionWorkerProtocolException(
                'no handler: send "new_handler" first (or the last one failed)'
            );
        }
        return $this->plugin;
    }

    /**
     * The client options new_handler turns the request's `client` block into. Extra keys of the block other than
     * endpoint, region, key, secret and retries are passed through unchanged (e.g. "http" for timeouts).
     *
     * @param array<string, mixed> $client
     * @return array<string, mixed>
     */
    public static function clientOptions(array $client): array
    {
        // The API version DynamoSessionConfig pins for the plugin.
        $options = ['version' => '2012-08-10'];
        foreach ($client as $name => $value) {
            if (!in_array($name, ['key', 'secret', 'retries'], true)) {
                $options[$name] = $value;
            }
        }
        if (isset($client['key']) || isset($client['secret'])) {
            $options['credentials'] = [
                'key' => (string) ($client['key'] ?? ''),
                'secret' => (string) ($client['secret'] ?? ''),
            ];
        }
        // null means the DynamoDbClient default (10 retries, legacy mode), which only an absent option gives.
        if (isset($client['retries'])) {
            $options['retries'] = $client['retries'];
        }
        return $options;
    }

    /**
     * @return array{class: string, code: string|null, message: string}
     */
    public static function describe(Throwable $e): array
    {
        $class = get_class($e);
        $short = substr($class, (int) strrpos('\\' . $class, '\\'));
        $code = null;
        if (method_exists($e, 'getAwsErrorCode')) {
            $code = $e->getAwsErrorCode();
        }
        return ['class' => $short, 'code' => is_string($code) ? $code : null, 'message' => $e->getMessage()];
    }

    /**
     * @return array{value: null, warnings: list<string>, exception: array<string, mixed>}
     */
    public static function protocolError(string $message): array
    {
        return [
            'value' => null,
            'warnings' => [],
            'exception' => ['class' => self::PROTOCOL_ERROR, 'code' => null, 'message' => $message],
        ];
    }

    /**
     * @param array<string, mixed> $response
     */
    public static function encode(array $response): string
    {
        // Messages can quote session bytes that are not UTF-8 (spec C66); substitute rather than fail.
        return json_encode(
            $response,
            JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PRESERVE_ZERO_FRACTION
        ) ?: '{"value":null,"warnings":[],"exception":{"class":"' . self::PROTOCOL_ERROR
            . '","code":null,"message":"response could not be encoded"}}';
    }

    /**
     * @param array<string, mixed> $request
     */
    private static function string(array $request, string $field): string
    {
        $value = $request[$field] ?? null;
        if (!is_string($value)) {
            throw new DynamoSessionWorkerProtocolException('"' . $field . '" must be a string');
        }
        return $value;
    }

    /**
     * @param array<string, mixed> $request
     */
    private static function optionalString(array $request, string $field): ?string
    {
        if (!isset($request[$field])) {
            return null;
        }
        return self::string($request, $field);
    }

    /**
     * @param scalar|null $value
     */
    private static function iniString($value): string
    {
        if (is_bool($value)) {
            return $value ? '1' : '0';
        }
        return (string) $value;
    }
}
