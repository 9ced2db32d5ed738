/**
 * A declined payment cancels the order and gives its reserved stock back.
 *
 *   pnpm e2e payment-declined
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { waitFor } from "@orderflow/stack";
import { getStock, notified, postOrder, steps, waitForOrder } from "./support/api.js";
import { openDatabase } from "./support/database.js";
import { systemForSuite } from "./support/system.js";

describe("payment-declined", () => {
  const system = systemForSuite();

  it("when the card is declined, then the order is cancelled (payment declined) and the reservation is released", async () => {
    const before = await getStock(system.gatewayUrl, "MN-001");
    const res = await postOrder(system.gatewayUrl, {
      customerId: "cust-declined",
      items: [{ sku: "MN-001", quantity: 2 }],
      paymentToken: "tok_declined",
    });
    assert.equal(res.status, 201);
    const orderId = res.body.orderId as string;

    const order = await waitForOrder(system.gatewayUrl, orderId, (o) => o.status === "CANCELLED" && notified(o));
    assert.deepEqual(steps(order), ["placed", "stock_reserved", "payment_failed", "cancelled", "notified"]);
    assert.equal(order.cancelReason, "payment declined: card declined");

    const db = openDatabase(system.database.url);
    try {
      await waitFor(
        "the reservation to be released",
        async () =>
          (await db.scalar("SELECT count(*) FROM inventory.reservations WHERE order_id = $1 AND status = 'released'", [
            orderId,
          ])) === 1,
      );
      assert.deepEqual(await getStock(system.gatewayUrl, "MN-001"), before, "stock is back where it started");
      assert.equal(
        await db.scalar("SELECT count(*) FROM payments.charges WHERE order_id = $1 AND status = 'declined'", [orderId]),
        1,
      );
      assert.equal(
        await db.scalar("SELECT count(*) FROM payments.charges WHERE order_id = $1 AND status = 'succeeded'", [
          orderId,
        ]),
        0,
      );
    } finally {
      await db.close();
    }
  });
});
