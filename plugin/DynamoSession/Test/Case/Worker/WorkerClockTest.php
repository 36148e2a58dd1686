<?php

use PHPUnit\Framework\TestCase;

/**
 * The handler worker's clock: what the SDK's session classes read as time() (docs/seams.md, new_handler's clock).
 */
class WorkerClockTest extends TestCase
{
    protected function tearDown(): void
    {
        DynamoSessionWorkerClock::set(['mode' => 'system']);
    }

    public function testFrozenAndOffsetClocks(): void
    {
        DynamoSessionWorkerClock::set(['mode' => 'frozen', 'at' => 1795962067]);
        $this->assertSame(1795962067, DynamoSessionWorkerClock::now());

        DynamoSessionWorkerClock::set(['mode' => 'offset', 'seconds' => -100]);
        $now = DynamoSessionWorkerClock::now();
        $this->assertGreaterThanOrEqual(time() - 101, $now);
        $this->assertLessThanOrEqual(time() - 99, $now);

        DynamoSessionWorkerClock::set(null);
        $this->assertEqualsWithDelta(time(), DynamoSessionWorkerClock::now(), 1);
    }

    public function testTheSdkNamespaceSeesTheWorkerClock(): void
    {
        DynamoSessionWorkerClock::install();
        DynamoSessionWorkerClock::set(['mode' => 'frozen', 'at' => 42]);
        $this->assertSame(42, \Aws\DynamoDb\time());
    }

    public function testBadClockSpecsAreProtocolErrors(): void
    {
        $this->expectException(DynamoSessionWorkerProtocolException::class);
        $this->expectExceptionMessage('clock "at" must be an integer');
        DynamoSessionWorkerClock::set(['mode' => 'frozen', 'at' => 'soon']);
    }
}
