/**
 * Quantity beyond stock is not a 400: the order is accepted, then cancelled
 * with the reason; nothing is charged and no stock moves.
 *
 *   pnpm e2e out-of-stock
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getStock, notified, postOrder, steps, waitForOrder } from "./support/api.js";
import { openDatabase } from "./support/database.js";
import { systemForSuite } from "./support/system.js";

describe("out-of-stock", () => {
  const system = systemForSuite();

  it("when an order asks for more than the stock, then it is cancelled (out of stock), uncharged, and stock is unchanged", async () => {
    const lampBefore = await getStock(system.gatewayUrl, "LT-001");
    const kbBefore = await getStock(system.gatewayUrl, "KB-001");
    const res = await postOrder(system.gatewayUrl, {
      customerId: "cust-oos",
      items: [
        { sku: "KB-001", quantity: 1 },
        { sku: "LT-001", quantity: lampBefore.available + 2 },
      ],
    });
    assert.equal(res.status, 201, "accepted first: stock is the inventory service's to judge");
    const orderId = res.body.orderId as string;

    const order = await waitForOrder(system.gatewayUrl, orderId, (o) => o.status === "CANCELLED" && notified(o));
    assert.deepEqual(steps(order), ["placed", "stock_rejected", "cancelled", "notified"]);
    assert.match(order.cancelReason ?? "", /^out of stock: LT-001 \(requested 5, available 3\)$/);

    assert.deepEqual(await getStock(system.gatewayUrl, "LT-001"), lampBefore);
    assert.deepEqual(await getStock(system.gatewayUrl, "KB-001"), kbBefore, "no line was reserved: all or none");
    const db = openDatabase(system.database.url);
    try {
      assert.equal(await db.scalar("SELECT count(*) FROM payments.charges WHERE order_id = $1", [orderId]), 0);
      assert.equal(await db.scalar("SELECT count(*) FROM inventory.reservations WHERE order_id = $1", [orderId]), 0);
    } finally {
      await db.close();
    }
  });

  it("when an order names an unknown SKU, then it is cancelled with that reason", async () => {
    const res = await postOrder(system.gatewayUrl, {
      customerId: "cust-oos",
      items: [{ sku: "NO-SUCH-SKU", quantity: 1 }],
    });
    const order = await waitForOrder(system.gatewayUrl, res.body.orderId as string, (o) => o.status === "CANCELLED");
    assert.equal(order.cancelReason, "unknown SKU NO-SUCH-SKU");
  });
});
