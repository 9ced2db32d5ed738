/**
 * Incident 2: the lost order.
 *
 * The inventory consumer is killed (SIGKILL, fault switch
 * FAULT_INVENTORY_CRASH_BEFORE_COMMIT) after its first write and before its
 * commit; the harness restarts it and JetStream redelivers the message.
 * With the dedup (inbox) record committed on its own before the work (unsafe
 * toggle UNSAFE_INVENTORY_INBOX_OUTSIDE_TRANSACTION), the redelivery is taken
 * for a duplicate and the order never completes. With the record in the
 * work's transaction, the crash rolls both back and the redelivery does the work.
 *
 *   pnpm e2e lost-order
 */
import assert from "node:assert/strict";
import { after, afterEach, describe, it } from "node:test";
import { type System, startSystem } from "@orderflow/stack";
import { getStock, notified, postOrder, steps, waitForOrder } from "./support/api.js";
import { openDatabase } from "./support/database.js";

const ACK_WAIT_MS = 1000;
const ALL = ["order", "inventory", "payment", "notification", "gateway"] as const;
const crashOnce = { FAULT_INVENTORY_CRASH_BEFORE_COMMIT: "true", CONSUMER_ACK_WAIT_MS: String(ACK_WAIT_MS) };

/** Waits for the fault to kill inventory, then restarts it without the fault, as an operator's restart would. */
async function restartAfterCrash(system: System): Promise<string | number | null> {
  const inventory = system.service("inventory");
  const exit = await inventory.exited();
  await inventory.start({ FAULT_INVENTORY_CRASH_BEFORE_COMMIT: undefined });
  return exit;
}

describe("lost-order", () => {
  let system: System | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });
  after(async () => system?.stop());

  it("(a) when the inbox record commits before the work (safeguard off) and the consumer crashes, then the redelivery is dropped and the order never completes (the incident)", async (t) => {
    system = await startSystem({
      services: [...ALL],
      env: { inventory: { ...crashOnce, UNSAFE_INVENTORY_INBOX_OUTSIDE_TRANSACTION: "true" } },
    });
    const before = await getStock(system.gatewayUrl, "HD-001");
    const res = await postOrder(system.gatewayUrl, {
      customerId: "cust-lost-a",
      items: [{ sku: "HD-001", quantity: 1 }],
    });
    assert.equal(res.status, 201);
    assert.equal(await restartAfterCrash(system), "SIGKILL", "the fault killed the inventory service");

    // Long enough for several redeliveries under the 1 s AckWait.
    await new Promise((r) => setTimeout(r, 4 * ACK_WAIT_MS));
    const inventoryLines = system.service("inventory").jsonLines();
    assert.ok(
      inventoryLines.some((l) => l.msg === "duplicate event acked with no effect"),
      "the redelivery was taken for a duplicate",
    );
    const order = await waitForOrder(system.gatewayUrl, res.body.orderId as string, () => true);
    t.diagnostic(
      `(a) safeguard off: order ${order.status}, waiting on ${order.waitingOn} for ${order.waitingForMs} ms`,
    );
    assert.equal(order.status, "PENDING");
    assert.equal(order.waitingOn, "stock");
    assert.deepEqual(steps(order), ["placed"]);
    assert.deepEqual(
      await getStock(system.gatewayUrl, "HD-001"),
      before,
      "the reservation was rolled back and never redone",
    );
  });

  it("(b) when the inbox record commits with the work (safeguard on) and the consumer crashes, then the redelivery completes the order, each effect once", async (t) => {
    system = await startSystem({ services: [...ALL], env: { inventory: crashOnce } });
    const before = await getStock(system.gatewayUrl, "HD-001");
    const res = await postOrder(system.gatewayUrl, {
      customerId: "cust-lost-b",
      items: [{ sku: "HD-001", quantity: 1 }],
    });
    assert.equal(res.status, 201);
    assert.equal(await restartAfterCrash(system), "SIGKILL");

    const orderId = res.body.orderId as string;
    const order = await waitForOrder(system.gatewayUrl, orderId, (o) => o.status === "CONFIRMED" && notified(o));
    t.diagnostic(`(b) safeguard on: order ${order.status} after the crash and redelivery`);
    assert.deepEqual(steps(order), ["placed", "stock_reserved", "payment_succeeded", "confirmed", "notified"]);
    const after = await getStock(system.gatewayUrl, "HD-001");
    assert.equal(after.available, before.available - 1, "stock went down exactly once");
    const db = openDatabase(system.database.url);
    try {
      assert.equal(await db.scalar("SELECT count(*) FROM inventory.reservations WHERE order_id = $1", [orderId]), 1);
      assert.equal(await db.scalar("SELECT count(*) FROM payments.charges WHERE order_id = $1", [orderId]), 1);
      assert.equal(
        await db.scalar("SELECT count(*) FROM notifications.notifications WHERE order_id = $1", [orderId]),
        1,
      );
    } finally {
      await db.close();
    }
  });
});
