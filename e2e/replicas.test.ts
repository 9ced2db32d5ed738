import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatReport, REPLICA_FAULTS, runChaos } from "@orderflow/lab/chaos";

/**
 * Two replicas of every service under load, one replica of each killed with
 * kill -9 in turn: the gateways balance PlaceOrder round-robin over both order
 * services and move off the dead one (its in-flight calls fail UNAVAILABLE and
 * are retried), the twin consumer shares each durable consumer and gets the
 * killed one's in-flight messages after AckWait, and the clients spread over
 * both gateways. Checked with the chaos invariants: nothing lost, nothing
 * twice. It prints the share of work each replica did.
 */
describe("replicas", () => {
  it("when one replica of each service is killed in turn under load, then its twin carries on and nothing is lost or done twice", async () => {
    const report = await runChaos({
      orders: 200,
      ratePerSecond: 6,
      replicas: 2,
      faults: REPLICA_FAULTS,
      repeatFaults: false,
      faultEveryMs: 5000,
      log: (line) => console.log(`  ${line}`),
    });
    console.log(formatReport(report).replace(/^/gm, "  "));
    assert.equal(report.faults.length, 5, "one replica of each service was killed");
    assert.deepEqual(report.violations, []);
    for (const name of ["order", "inventory", "payment", "notification", "gateway"]) {
      assert.ok((report.shares[name] ?? 0) > 0, `${name} (replica 1) did work`);
      assert.ok((report.shares[`${name}-2`] ?? 0) > 0, `${name}-2 did work`);
    }
  });
});
