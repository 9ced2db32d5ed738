/**
 * Two order-service replicas relay one outbox at once (FOR UPDATE SKIP LOCKED)
 * and share its consumers. Each event is published once and handled once.
 *
 *   pnpm e2e relay-replicas
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type System, waitFor } from "@orderflow/stack";
import { openDatabase } from "./support/database.js";
import { assertCompletedOnce, placeOrders } from "./support/orders.js";
import { systemForSuite } from "./support/system.js";

async function published(system: System, replica: number): Promise<number> {
  const port = system.replica("order", replica).env.HTTP_PORT;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(text.match(/^outbox_published_total(?:\{[^}]*\})? (\d+)/m)?.[1] ?? 0);
}

describe("relay-replicas", () => {
  const system = systemForSuite({
    replicas: { order: 2 },
    env: { order: { OUTBOX_BATCH_SIZE: "2" } },
  });

  it("when two replicas relay the same outbox, then each event is published once and handled once", async (t) => {
    const orders = (await Promise.all([1, 2, 3, 4].map(() => placeOrders(system, "cust-replicas", 10)))).flat();
    await assertCompletedOnce(system, orders, 60_000);
    const db = openDatabase(system.database.url);
    try {
      // Marks are gathered up to 250 ms after the publish (docs/adr/0015): wait for the last ones.
      await waitFor(
        "every order event marked published",
        async () => Number(await db.scalar("SELECT count(*) FROM orders.outbox WHERE published_at IS NULL")) === 0,
        { timeoutMs: 10_000 },
      );
      assert.equal(
        await db.scalar("SELECT count(*) FROM orders.outbox WHERE attempts <> 1 OR published_at IS NULL"),
        0,
        "every order event was published by one relay, in one attempt",
      );
      assert.equal(
        await db.scalar("SELECT count(*) FROM inventory.inbox WHERE consumer = 'inventory-order-placed'"),
        orders.length,
        "inventory handled one order-placed event per order",
      );
    } finally {
      await db.close();
    }
    const [a, b] = [await published(system, 1), await published(system, 2)];
    t.diagnostic(`order events published by replica 1: ${a}, by replica 2: ${b}`);
    const inventoryPort = system.service("inventory").env.HTTP_PORT;
    const inventoryMetrics = await (await fetch(`http://127.0.0.1:${inventoryPort}/metrics`)).text();
    assert.doesNotMatch(
      inventoryMetrics,
      /consumer_messages_total\{[^}]*outcome="duplicate"[^}]*\} [1-9]/,
      "no duplicate reached inventory",
    );
    assert.ok(a > 0 && b > 0, "both replicas relayed");
  });
});
