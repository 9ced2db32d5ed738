/**
 * Poison messages: one that cannot be decoded, and one that fails on every
 * delivery (fault switch FAULT_INVENTORY_FAIL_SKU, a handler bug). Both reach
 * the dead letters after bounded attempts while the other orders flow. Once the
 * cause is removed (inventory restarted without the bug), `pnpm dlq redrive`
 * processes the message, once.
 *
 *   pnpm e2e poison-message
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { waitFor } from "@orderflow/stack";
import { getStock, notified, postOrder, waitForOrder } from "./support/api.js";
import { openDatabase } from "./support/database.js";
import { dlq, listDeadLetters } from "./support/dlq.js";
import { asOperator } from "./support/operator.js";
import { systemForSuite } from "./support/system.js";

describe("poison-message", () => {
  const system = systemForSuite({
    env: { inventory: { FAULT_INVENTORY_FAIL_SKU: "CB-001", CONSUMER_MAX_DELIVER: "3" } },
  });

  it("when poison messages arrive, then they are dead-lettered after bounded attempts, the others flow, and a redrive after the fix processes one once", async (t) => {
    // 1. A malformed event, published straight to the stream.
    const garbageId = randomUUID();
    await asOperator(system.nats.url, ({ js }) =>
      js.publish("orders.order.placed", new Uint8Array([0x0a, 0xff, 0xff, 0xff]), { msgID: garbageId }),
    );

    // 2. An order the buggy handler fails on, among healthy ones.
    const cableBefore = await getStock(system.gatewayUrl, "CB-001");
    const poison = await postOrder(system.gatewayUrl, {
      customerId: "cust-poison",
      items: [{ sku: "CB-001", quantity: 2 }],
    });
    const healthy = await Promise.all(
      [1, 2, 3].map(() =>
        postOrder(system.gatewayUrl, { customerId: "cust-healthy", items: [{ sku: "KB-001", quantity: 1 }] }),
      ),
    );
    for (const h of healthy) {
      await waitForOrder(system.gatewayUrl, h.body.orderId as string, (o) => o.status === "CONFIRMED");
    }

    const letters = await waitFor("two dead letters", async () => {
      const l = listDeadLetters(system.nats.url);
      return l.length === 2 ? l : undefined;
    });
    const garbage = letters.find((l) => l.eventId === garbageId);
    const bug = letters.find((l) => l.eventId !== garbageId);
    t.diagnostic(
      `dead letters: ${letters.map((l) => `#${l.seq} after ${l.deliveryCount} deliveries: ${l.reason}`).join(" | ")}`,
    );
    assert.equal(garbage?.deliveryCount, 1, "an undecodable message is not retried");
    assert.match(garbage?.reason ?? "", /undecodable/);
    assert.equal(bug?.deliveryCount, 3, "a failing one is retried up to max_deliver");
    assert.match(bug?.reason ?? "", /FAULT_INVENTORY_FAIL_SKU/);
    assert.equal(bug?.consumer, "inventory-order-placed");
    const stuck = await waitForOrder(system.gatewayUrl, poison.body.orderId as string, () => true);
    assert.equal(stuck.status, "PENDING");
    assert.equal(stuck.waitingOn, "stock");

    // 3. The fix is deployed: inventory restarts without the bug; the operator redrives.
    const inventory = system.service("inventory");
    await inventory.stop();
    await inventory.start({ FAULT_INVENTORY_FAIL_SKU: undefined });
    const redrive = dlq(system.nats.url, "redrive", String(bug?.seq));
    assert.equal(redrive.status, 0, redrive.stderr);
    assert.match(redrive.stdout, /redriven #\d+ -> orders\.order\.placed/);

    const orderId = poison.body.orderId as string;
    await waitForOrder(system.gatewayUrl, orderId, (o) => o.status === "CONFIRMED" && notified(o));
    assert.equal((await getStock(system.gatewayUrl, "CB-001")).available, cableBefore.available - 2, "reserved once");
    const db = openDatabase(system.database.url);
    try {
      assert.equal(await db.scalar("SELECT count(*) FROM inventory.reservations WHERE order_id = $1", [orderId]), 1);
      assert.equal(await db.scalar("SELECT count(*) FROM payments.charges WHERE order_id = $1", [orderId]), 1);
    } finally {
      await db.close();
    }
    assert.deepEqual(
      listDeadLetters(system.nats.url).map((l) => l.eventId),
      [garbageId],
      "only the undecodable one is left",
    );
    assert.equal(dlq(system.nats.url, "redrive", "not-a-number").status, 2, "a bad argument is refused");
    const missing = dlq(system.nats.url, "redrive", "999999");
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no dead letter with sequence 999999/);
    const unreachable = dlq("nats://127.0.0.1:1", "list");
    assert.equal(unreachable.status, 1);
    assert.match(unreachable.stderr, /cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/);
  });
});
