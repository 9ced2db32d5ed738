/**
 * The whole flow, every service a process: POST -> CONFIRMED, stock down once,
 * one charge, one notification, a complete timeline.
 *
 *   pnpm e2e happy-path
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { AUTHORIZATION_METADATA_KEY, createGrpcClient, OrderService, OrderStatus } from "@orderflow/contracts";
import { waitFor } from "@orderflow/stack";
import { getStock, notified, postOrder, steps, waitForOrder } from "./support/api.js";
import { openDatabase } from "./support/database.js";
import { systemForSuite } from "./support/system.js";

/** Follows the order through the server-streaming WatchOrder RPC until the stream ends, as its customer. */
async function watchStatuses(address: string, orderId: string, token: string): Promise<string[]> {
  const client = createGrpcClient(OrderService, address);
  const metadata = new grpc.Metadata();
  metadata.set(AUTHORIZATION_METADATA_KEY, `Bearer ${token}`);
  try {
    const seen: string[] = [];
    for await (const o of client.watchOrder({ orderId }, { deadline: new Date(Date.now() + 20_000), metadata })) {
      seen.push(OrderStatus[o.status]);
    }
    return seen;
  } finally {
    client.close();
  }
}

describe("happy-path", () => {
  const system = systemForSuite();

  it("when an order is placed, then it is confirmed and notified, with each effect exactly once", async () => {
    const before = { kb: await getStock(system.gatewayUrl, "KB-001"), ms: await getStock(system.gatewayUrl, "MS-001") };
    const watchToken = await system.auth.token("cust-happy"); // minted now: the watch starts right after the POST
    const res = await postOrder(system.gatewayUrl, {
      customerId: "cust-happy",
      items: [
        { sku: "KB-001", quantity: 2 },
        { sku: "MS-001", quantity: 1 },
      ],
    });
    assert.equal(res.status, 201);
    const orderId = res.body.orderId as string;
    const watched = watchStatuses(system.orderGrpcAddress, orderId, watchToken);

    const order = await waitForOrder(system.gatewayUrl, orderId, (o) => o.status === "CONFIRMED" && notified(o));
    assert.deepEqual(steps(order), ["placed", "stock_reserved", "payment_succeeded", "confirmed", "notified"]);
    assert.equal(order.totalCents, 2 * 8900 + 2900);
    assert.equal(order.cancelReason, null);
    assert.equal(order.waitingOn, null);
    const statuses = await watched;
    // The watch starts after the POST's answer, so the saga may already be done (then it sees CONFIRMED only).
    assert.ok(
      ["PENDING", "CONFIRMED"].includes(statuses.at(0) ?? ""),
      `WatchOrder starts with the order as it is: ${statuses}`,
    );
    assert.equal(statuses.at(-1), "CONFIRMED", "and ends when the order is final");
    assert.equal(statuses.indexOf("CONFIRMED"), statuses.length - 1, "nothing after the final status");

    // Inventory commits the reservation when it handles OrderConfirmed, after the order is final:
    // wait for it (with a deadline) rather than sample once.
    await waitFor(
      "the reservation to be committed after the confirmation",
      async () => (await getStock(system.gatewayUrl, "KB-001")).reserved === 0,
      { timeoutMs: 30_000 },
    );
    const after = { kb: await getStock(system.gatewayUrl, "KB-001"), ms: await getStock(system.gatewayUrl, "MS-001") };
    assert.equal(after.kb.available, before.kb.available - 2, "stock went down once");
    assert.equal(after.ms.available, before.ms.available - 1);
    assert.equal(after.kb.reserved, 0, "the reservation was committed when the order was confirmed");

    const db = openDatabase(system.database.url);
    try {
      assert.equal(await db.scalar("SELECT count(*) FROM payments.charges WHERE order_id = $1", [orderId]), 1);
      assert.equal(
        await db.scalar("SELECT amount_cents FROM payments.charges WHERE order_id = $1 AND status = 'succeeded'", [
          orderId,
        ]),
        20700,
      );
      assert.equal(
        await db.scalar("SELECT count(*) FROM notifications.notifications WHERE order_id = $1", [orderId]),
        1,
      );
      assert.equal(
        await db.scalar("SELECT count(*) FROM inventory.reservations WHERE order_id = $1 AND status = 'committed'", [
          orderId,
        ]),
        2,
      );
      // A published row is marked with the marks gathered after it (up to 250 ms later, docs/adr/0015):
      // wait for it with a deadline.
      for (const schema of ["orders", "inventory", "payments", "notifications"]) {
        await waitFor(
          `${schema} outbox drained`,
          async () => Number(await db.scalar(`SELECT count(*) FROM ${schema}.outbox WHERE published_at IS NULL`)) === 0,
          { timeoutMs: 10_000 },
        );
      }
    } finally {
      await db.close();
    }
  });
});
