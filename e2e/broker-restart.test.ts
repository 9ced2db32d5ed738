/**
 * nats-server goes away mid-flow and comes back (same store, same port).
 * Orders keep being accepted meanwhile (gRPC and Postgres do not need the
 * broker: their events wait in the outboxes). Every accepted order completes
 * exactly once.
 *
 *   pnpm e2e broker-restart
 */
import { describe, it } from "node:test";
import { openDatabase } from "./support/database.js";
import { assertCompletedOnce, placeOrders } from "./support/orders.js";
import { systemForSuite } from "./support/system.js";

describe("broker-restart", () => {
  const system = systemForSuite();

  it("when nats-server stops mid-flow and starts again, then every accepted order completes exactly once", async (t) => {
    const before = await placeOrders(system, "cust-broker", 5);
    await system.nats.pause();
    const during = await placeOrders(system, "cust-broker", 5);
    const db = openDatabase(system.database.url);
    const waiting = await db.scalar("SELECT count(*) FROM orders.outbox WHERE published_at IS NULL");
    await db.close();
    t.diagnostic(`broker down: 5 orders accepted, ${waiting} events waiting in the order outbox`);
    await new Promise((r) => setTimeout(r, 1500));
    await system.nats.resume();
    const afterwards = await placeOrders(system, "cust-broker", 5);
    await assertCompletedOnce(system, [...before, ...during, ...afterwards], 60_000);
  });
});
