<?php

App::uses('CakeSessionHandlerInterface', 'Model/Datasource/Session');
App::uses('Configure', 'Core');
App::uses('DynamoSessionConfig', 'DynamoSession.Lib');
App::uses('DynamoSessionConfigException', 'DynamoSession.Lib');
App::uses('DynamoSessionVendor', 'DynamoSession.Lib');

/**
 * CakePHP 2.x session handler that stores sessions in DynamoDB through the AWS SDK for PHP v3
 * `Aws\DynamoDb\SessionHandler`. Enable it with
 *
 *     'handler' => ['engine' => 'DynamoSession.DynamoSession']
 *
 * in the Session block of Config/core.php; settings come from the COMANAGE_REGISTRY_DYNAMODB_* environment
 * variables (Lib/DynamoSessionConfig.php, README.md).
 *
 * Every call is delegated to the SDK handler unchanged, the way COmanage Registry's own wrapper does, so the
 * stored items, the wire calls and the failure behaviour are the SDK's (docs: session-semantics §1, §5). The
 * differences from that wrapper are deliberate and listed in README.md: configuration errors are reported as one
 * exception naming the variables, the endpoint is optional, credentials may come from the default chain, and the
 * SDK handler is built on first use instead of in the constructor.
 */
class DynamoSession implements CakeSessionHandlerInterface
{
    /**
     * COmanage Registry instantiates every plugin's `Plugin.Plugin` model through ClassRegistry::init(), which
     * returns this class once it is loaded and then reads cmPluginType. Declaring it null keeps that lookup free of
     * "undefined property" warnings; isPlugin() false keeps the handler out of COmanage's plugin lists.
     *
     * @var string|null
     */
    public $cmPluginType = null;

    private ?DynamoSessionConfig $config = null;

    /** @var \Aws\DynamoDb\SessionHandler|null built on first use, or injected */
    private $handler = null;

    /**
     * CakePHP builds a new handler, with no arguments, every time it (re)configures the session: two or three per
     * request (spec §4.2), and only the last one receives callbacks. So the constructor only reads and validates
     * the environment (no SDK object, no I/O), and a bad variable fails here, as one exception, before PHP's
     * session machinery starts.
     *
     * An array is the settings ClassRegistry::init() passes when COmanage Registry enumerates its plugins
     * (`DynamoSession.DynamoSession`, spec C92). Such an object is never a session handler, so it reads no
     * environment: with file sessions the variables are unset, and CakePHP's class map cache (app/tmp/cache) still
     * hands this class to the lookup once DynamoDB sessions have been on. Validating there made every page that
     * builds COmanage's menu an HTTP 500. It is validated on first use instead.
     *
     * @param mixed $handler an Aws\DynamoDb\SessionHandler to delegate to instead of one built from the
     *     environment (the handler worker and the tests use this); an array, ClassRegistry's settings (above),
     *     which are ignored; anything else is treated as no argument.
     * @throws DynamoSessionConfigException when the environment is incomplete or invalid (not for an array)
     */
    public function __construct($handler = null)
    {
        if (is_object($handler) && is_a($handler, DynamoSessionVendor::SDK_CLASS)) {
            $this->handler = $handler;
            return;
        }
        if (is_array($handler)) {
            return;
        }
        $this->config = DynamoSessionConfig::fromEnvironment();
    }

    /**
     * PHP passes (save path, session name); CakePHP's interface declares none, so both are optional.
     *
     * The stored key prefix is `Session.cookie` from Configure, as in COmanage's wrapper, so items written by either
     * are shared by both (a table can be switched from one to the other without logging anybody out). PHP's own
     * session name agrees with it whenever CakePHP set `session.name` from `cookie`, which it does unless
     * `Session.ini.session.name` overrides it. Without a `Session.cookie` (a caller outside CakeSession) the name
     * PHP passed is used, then session_name().
     *
     * @param string|null $savePath ignored by the SDK; passed through
     * @param string|null $name the session name PHP passes
     */
    public function open($savePath = null, $name = null): bool
    {
        $cookie = Configure::read('Session.cookie');
        if (is_string($cookie) && $cookie !== '') {
            $name = $cookie;
        } elseif ($name === null) {
            $name = session_name();
        }
        return (bool) $this->sessionHandler()->open((string) $savePath, (string) $name);
    }

    public function close(): bool
    {
        return (bool) $this->sessionHandler()->close();
    }

    /**
     * @param string $id
     * @return string the serialized session, '' when absent, expired or unreadable (the SDK swallows read errors)
     */
    public function read($id)
    {
        return $this->sessionHandler()->read($id);
    }

    /**
     * @param string $id
     * @param string $data
     */
    public function write($id, $data): bool
    {
        return (bool) $this->sessionHandler()->write($id, $data);
    }

    /**
     * @param string $id
     */
    public function destroy($id): bool
    {
        return (bool) $this->sessionHandler()->destroy($id);
    }

    /**
     * The SDK's gc() sends nothing and returns true: expired items go through DynamoDB TTL on `expires`, or through
     * garbageCollect() run from the plugin's shell (README.md, "Garbage collection").
     *
     * @param int|null $expires
     */
    public function gc($expires = null): bool
    {
        return (bool) $this->sessionHandler()->gc($expires);
    }

    /**
     * Scans the table and batch-deletes expired, unlocked items (the SDK's garbageCollect()). Never called by PHP
     * or CakePHP; see Console/Command/DynamoSessionShell.php.
     */
    public function garbageCollect(): void
    {
        $this->sessionHandler()->garbageCollect();
    }

    /**
     * Keeps COmanage Registry from listing this class as a plugin model (see $cmPluginType).
     */
    public function isPlugin(): bool
    {
        return false;
    }

    /**
     * The SDK handler, built on first use: of the handler objects CakePHP builds per request only the registered
     * one is used, so the others never construct a client. The SDK reads session.gc_maxlifetime here when no
     * lifetime is configured, which is after CakePHP's ini_set, as in COmanage's wrapper.
     *
     * @return \Aws\DynamoDb\SessionHandler
     */
    public function sessionHandler()
    {
        if ($this->handler === null) {
            $this->config ??= DynamoSessionConfig::fromEnvironment();
            if (!DynamoSessionVendor::load()) {
                throw new RuntimeException('DynamoSession: ' . DynamoSessionVendor::installHint());
            }
            $client = new \Aws\DynamoDb\DynamoDbClient($this->config->clientOptions());
            $this->handler = \Aws\DynamoDb\SessionHandler::fromClient($client, $this->config->handlerConfig());
        }
        return $this->handler;
    }

    /**
     * The validated environment settings; null when an SDK handler was injected, and for an instance built by
     * ClassRegistry (COmanage's plugin lookup) until its first use.
     */
    public function config(): ?DynamoSessionConfig
    {
        return $this->config;
    }
}
