<?php

/**
 * The clock the SDK's session classes read in the handler worker, so that conformance cases can freeze or shift
 * time instead of waiting for it (docs/seams.md: new_handler's "clock", set_clock).
 *
 * The SDK's session classes call time() unqualified inside namespace Aws\DynamoDb, so PHP looks for
 * Aws\DynamoDb\time() first. install() defines that function, forwarding here; it must run before the SDK's first
 * time() call, because PHP caches which function an unqualified call resolved to.
 */
final class DynamoSessionWorkerClock
{
    private static string $mode = 'system';
    private static int $value = 0;

    public static function install(): void
    {
        if (function_exists('Aws\\DynamoDb\\time')) {
            return;
        }
        // Defined through eval so that the namespace of a third-party library is not declared at the top level
        // of a file in this repository; the body only forwards to this class.
        eval('namespace Aws\\DynamoDb; function time(): int { return \\DynamoSessionWorkerClock::now(); }');
    }

    /**
     * @param mixed $spec {"mode":"system"} | {"mode":"frozen","at":N} | {"mode":"offset","seconds":N}
     */
    public static function set($spec): void
    {
        if ($spec === null) {
            $spec = ['mode' => 'system'];
        }
        if (!is_array($spec) || !isset($spec['mode']) || !is_string($spec['mode'])) {
            throw new DynamoSessionWorkerProtocolException('"clock" must be an object with a "mode"');
        }
        switch ($spec['mode']) {
            case 'system':
                self::$mode = 'system';
                self::$value = 0;
                return;
            case 'frozen':
                self::$mode = 'frozen';
                self::$value = self::integer($spec, 'at');
                return;
            case 'offset':
                self::$mode = 'offset';
                self::$value = self::integer($spec, 'seconds');
                return;
            default:
                throw new DynamoSessionWorkerProtocolException('unknown clock mode ' . json_encode($spec['mode']));
        }
    }

    public static function now(): int
    {
        switch (self::$mode) {
            case 'frozen':
                return self::$value;
            case 'offset':
                return \time() + self::$value;
            default:
                return \time();
        }
    }

    /**
     * @param array<string, mixed> $spec
     */
    private static function integer(array $spec, string $field): int
    {
        if (!isset($spec[$field]) || !is_int($spec[$field])) {
            throw new DynamoSessionWorkerProtocolException('clock "' . $field . '" must be an integer');
        }
        return $spec[$field];
    }
}
