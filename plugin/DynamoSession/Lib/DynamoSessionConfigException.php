<?php

/**
 * The one exception thrown for a missing or invalid DynamoSession environment variable.
 *
 * It extends InvalidArgumentException so callers that already catch the SDK's own configuration errors catch this
 * one too. All problems found in one pass are reported together (operators fix them in one go instead of meeting
 * them one per deploy); getProblems() gives them keyed by variable name for tests and tooling.
 */
class DynamoSessionConfigException extends InvalidArgumentException
{
    /** @var array<string, string> variable name => what is wrong with it */
    private array $problems;

    /**
     * @param array<string, string> $problems variable name => description, at least one entry
     */
    public function __construct(array $problems)
    {
        $this->problems = $problems;
        $lines = [];
        foreach ($problems as $variable => $problem) {
            $lines[] = $variable . ' ' . $problem;
        }
        parent::__construct(
            'DynamoSession is not configured correctly: ' . implode('; ', $lines)
            . '. See the "Environment variables" section of the DynamoSession plugin README.'
        );
    }

    /**
     * @return array<string, string> variable name => description
     */
    public function getProblems(): array
    {
        return $this->problems;
    }

    /**
     * @return list<string> the names of the offending variables, in the order they were checked
     */
    public function getVariables(): array
    {
        return array_keys($this->problems);
    }
}
