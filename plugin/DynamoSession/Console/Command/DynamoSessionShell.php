<?php

App::uses('Shell', 'Console');
App::uses('DynamoSession', 'DynamoSession.Model/Datasource/Session');
App::uses('DynamoSessionCheck', 'DynamoSession.Lib');
App::uses('DynamoSessionConfig', 'DynamoSession.Lib');
App::uses('DynamoSessionVendor', 'DynamoSession.Lib');

/**
 * Operator commands of the DynamoSession plugin.
 *
 *   Console/cake DynamoSession.dynamo_session check    test the deployment: table, TTL, permissions, latency
 *   Console/cake DynamoSession.dynamo_session gc       delete expired, unlocked sessions now (for cron)
 *   Console/cake DynamoSession.dynamo_session config   check the environment and print the effective settings
 *
 * Errors are one line on stderr and a non-zero exit status; -v (--verbose) adds the exception class and the stack
 * trace.
 *
 * Why gc exists: PHP calls the handler's gc(), which in the SDK sends nothing; nothing in CakePHP or COmanage
 * calls the SDK's garbageCollect(). Expired items therefore go away through DynamoDB TTL on `expires` (the
 * recommended path: free, no scan) or through this command (a full-table Scan plus BatchWriteItem deletes: it
 * consumes read capacity proportional to the table size, so run it off-peak, e.g. hourly or daily from cron).
 * Extends Shell rather than AppShell so it works in applications without an AppShell.
 */
class DynamoSessionShell extends Shell
{
    /**
     * Runs DynamoSessionCheck with this process's environment and CakePHP's Session block, and prints one line per
     * finding (in quiet mode, -q, only the WARN and FAIL lines). Fails (exit status 1) when any finding is a FAIL.
     */
    public function check(): bool
    {
        return $this->guarded(function (): bool {
            $check = new DynamoSessionCheck(
                static function (DynamoSessionConfig $config) {
                    if (!DynamoSessionVendor::load()) {
                        throw new RuntimeException(DynamoSessionVendor::installHint());
                    }
                    return new \Aws\DynamoDb\DynamoDbClient($config->clientOptions());
                },
                (array) Configure::read('Session'),
                ini_get('session.gc_maxlifetime')
            );
            $findings = $check->run();
            foreach ($findings as $finding) {
                $this->out(
                    DynamoSessionCheck::line($finding),
                    1,
                    $finding['status'] === DynamoSessionCheck::OK ? Shell::NORMAL : Shell::QUIET
                );
            }
            $this->out(DynamoSessionCheck::summary($findings), 1, Shell::QUIET);
            return !DynamoSessionCheck::failed($findings);
        });
    }

    /**
     * Scans the table and deletes every item whose `expires` is in the past and that carries no lock (the SDK's
     * garbageCollect()). A Scan error is fatal (non-zero exit status, for cron to report); failed delete batches
     * are dropped by the SDK and show up as items left for the next run.
     */
    public function gc(): bool
    {
        return $this->guarded(function (): bool {
            $handler = new DynamoSession();
            $settings = $handler->config() !== null ? $handler->config()->summary() : [];
            $table = $settings[DynamoSessionConfig::TABLE] ?? '?';
            $started = microtime(true);
            $handler->garbageCollect();
            $this->out(sprintf(
                'DynamoSession: garbage collection of table %s finished in %.2f s.',
                $table,
                microtime(true) - $started
            ));
            return true;
        });
    }

    /**
     * Validates the environment (the same check the session handler makes) and prints the settings, with the
     * secret key hidden. Sends no request to DynamoDB: `check` does.
     */
    public function config(): bool
    {
        return $this->guarded(function (): bool {
            $handler = new DynamoSession();
            $config = $handler->config();
            foreach ($config !== null ? $config->summary() : [] as $name => $value) {
                $this->out(sprintf('%-58s %s', $name, (string) $value));
            }
            $this->out('The variables are valid. No request was sent: run `check` to test the table, TTL, permissions'
                . ' and latency.');
            return true;
        });
    }

    /**
     * Without a subcommand: the help. CakePHP also routes unknown subcommands here; those fail (exit status 1) so a
     * mistyped cron line is noticed.
     */
    public function main(): bool
    {
        $this->out($this->getOptionParser()->help());
        if (is_string($this->command) && $this->command !== '' && $this->command[0] !== '-') {
            $this->err('<error>Error:</error> unknown subcommand "' . $this->command . '"');
            return false;
        }
        return true;
    }

    /**
     * Upstream CakePHP 2.10.24 passes a null command name to ReflectionMethod when a shell is run without a
     * subcommand, a ValueError on PHP 8 (COmanage Registry patches the same line in its lib/Cake). Guarding here
     * keeps the shell usable on an unpatched CakePHP.
     *
     * @param string|null $name
     * @return bool
     */
    public function hasMethod($name)
    {
        if (!is_string($name) || $name === '') {
            return false;
        }
        return parent::hasMethod($name);
    }

    /**
     * Runs a command, turning any exception into one line on stderr and a false return (exit status 1), instead of
     * CakePHP's console error handler, which prints the whole stack trace. With -v the trace follows the line.
     *
     * @param callable(): bool $command
     */
    private function guarded(callable $command): bool
    {
        try {
            return $command();
        } catch (Throwable $e) {
            $this->err('<error>Error:</error> ' . DynamoSessionCheck::describeError($e));
            if (!empty($this->params['verbose'])) {
                $this->err(get_class($e) . ' thrown at ' . $e->getFile() . ':' . $e->getLine());
                $this->err($e->getTraceAsString());
            }
            return false;
        }
    }

    /**
     * @return ConsoleOptionParser
     */
    public function getOptionParser()
    {
        $parser = parent::getOptionParser();
        $parser->description(
            'DynamoDB session maintenance. Settings come from the COMANAGE_REGISTRY_DYNAMODB_* environment'
            . ' variables, as for the session handler. Errors are one line; -v adds the stack trace.'
        );
        $parser->addSubcommand('check', [
            'help' => 'Test the deployment before switching sessions over: configuration, credentials, table key'
                . ' schema and billing, TTL, each action of the IAM policy on a probe item (removed afterwards),'
                . ' latency, timeout and lifetime hazards. One OK/WARN/FAIL line per finding; exit status 1 on any'
                . ' FAIL.',
        ]);
        $parser->addSubcommand('gc', [
            'help' => 'Delete expired, unlocked sessions now (Scan + BatchWriteItem). An alternative or a'
                . ' complement to DynamoDB TTL on the expires attribute; suitable for cron.',
        ]);
        $parser->addSubcommand('config', [
            'help' => 'Check the environment variables and print the effective settings (no DynamoDB request).',
        ]);
        return $parser;
    }
}
