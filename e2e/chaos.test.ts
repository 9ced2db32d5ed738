import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatReport, runChaos } from "@orderflow/lab/chaos";

/**
 * The chaos scenario, sized for the test suite (`pnpm chaos --orders N` runs
 * longer ones): a paced load while every service is killed with kill -9,
 * nats-server is killed and restarted, and Postgres is stopped immediately
 * and started; then every invariant of check-invariants.ts must hold.
 * The negative control runs the same checker with a safeguard off and must
 * see it fail: a checker that cannot fail proves nothing.
 */
describe("chaos", () => {
  it("when every process is killed and the broker and the database restart under load, then nothing is lost or done twice", async () => {
    const report = await runChaos({
      orders: Number(process.env.CHAOS_ORDERS ?? 240),
      ratePerSecond: 6,
      faultEveryMs: 5000,
      log: (line) => console.log(`  ${line}`),
    });
    console.log(formatReport(report).replace(/^/gm, "  "));
    assert.ok(report.faults.length >= 7, "every fault of the cycle was injected");
    assert.ok(report.counts.accepted > 0);
    assert.deepEqual(report.violations, []);
  });

  it("when the idempotency safeguard is off and acks are slow (negative control), then the checker finds duplicates", async () => {
    const report = await runChaos({
      orders: 12,
      ratePerSecond: 6,
      faultEveryMs: 0,
      env: {
        // Every reply later than the gateway's deadline: the gateway retries, and without the key each retry is a new order.
        order: {
          UNSAFE_ORDER_IGNORE_IDEMPOTENCY_KEY: "true",
          FAULT_ORDER_SLOW_ACK_MS: "1200",
          FAULT_ORDER_SLOW_ACK_COUNT: "6",
        },
        gateway: { ORDER_RPC_DEADLINE_MS: "500" },
      },
      drainBudgetMs: 60_000,
      log: (line) => console.log(`  ${line}`),
    });
    console.log(formatReport(report).replace(/^/gm, "  "));
    assert.ok(report.counts.duplicatedOrders > 0, "the checker must see the duplicates the unsafe toggle causes");
    assert.ok(report.violations.some((v) => v.startsWith("duplicatedOrders=")));
  });
});
