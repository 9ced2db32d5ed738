import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { PaymentSucceededSchema, StockReservedSchema } from "@orderflow/contracts";
import type { Tx } from "@orderflow/db";
import { createPool, transaction } from "@orderflow/db";
import { drizzle } from "drizzle-orm/node-postgres";
import {
  cancelUnpaid,
  confirmPaid,
  lockOrders,
  recordNotified,
  recordStockReserved,
  rejectForStock,
} from "../src/order-saga.js";
import { placeOrder } from "../src/place-order.js";
import { getOrder } from "../src/read-orders.js";
import { orderDatabase } from "./order-database.js";

/**
 * The saga against the real Postgres: every result, in every order of arrival,
 * each delivered twice. Each result runs in a transaction of its own, as the
 * consumer runner runs it.
 */
describe("order saga (against Postgres)", () => {
  let t: Awaited<ReturnType<typeof orderDatabase>>;
  before(async () => {
    t = await orderDatabase();
  });
  after(async () => t.close());

  async function newOrder() {
    const { orderId } = await placeOrder(
      { db: t.db },
      { issuer: "https://issuer.test", subject: "saga-1" },
      {
        idempotencyKey: randomUUID(),
        customerId: "saga-1",
        items: [
          { sku: "KB-001", quantity: 2 },
          { sku: "MS-001", quantity: 1 },
        ],
      },
    );
    return orderId;
  }

  type Result = (orderId: string) => Promise<void>;
  type Apply = (tx: Tx, orderId: string) => Promise<void>;
  const applyReserved: Apply = (tx, orderId) =>
    recordStockReserved(
      tx,
      create(StockReservedSchema, {
        orderId,
        customerId: "saga-1",
        paymentToken: "tok_visa",
        items: [
          { sku: "KB-001", quantity: 2, unitPriceCents: 4999n },
          { sku: "MS-001", quantity: 1, unitPriceCents: 2500n },
        ],
        totalCents: 12498n,
      }),
    );
  const applyPaid: Apply = (tx, orderId) =>
    confirmPaid(tx, create(PaymentSucceededSchema, { orderId, paymentId: randomUUID(), amountCents: 12498n }));
  const applyDeclined: Apply = (tx, orderId) => cancelUnpaid(tx, orderId, "card declined");
  // Each in a drizzle transaction: every result writes at once.
  const reserved: Result = (orderId) => t.db.transaction((tx) => applyReserved(tx, orderId));
  const rejected: Result = (orderId) =>
    t.db.transaction((tx) => rejectForStock(tx, orderId, "out of stock: KB-001 (requested 2, available 1)"));
  const paid: Result = (orderId) => t.db.transaction((tx) => applyPaid(tx, orderId));
  const declined: Result = (orderId) => t.db.transaction((tx) => applyDeclined(tx, orderId));

  async function events(orderId: string) {
    const { rows } = await t.pool.query(
      "SELECT subject FROM orders.outbox WHERE position(convert_to($1, 'UTF8') in payload) > 0 ORDER BY created_at, subject",
      [orderId],
    );
    return rows.map((r) => r.subject as string).filter((s) => s !== "orders.order.placed");
  }

  const cases: Array<{ name: string; results: Result[]; expect: Record<string, unknown> }> = [
    {
      name: "stock reserved, then payment succeeded",
      results: [reserved, paid],
      expect: { status: "CONFIRMED", steps: ["placed", "stock_reserved", "payment_succeeded", "confirmed"] },
    },
    {
      name: "payment succeeded, then stock reserved",
      results: [paid, reserved],
      expect: { status: "CONFIRMED", steps: ["placed", "stock_reserved", "payment_succeeded", "confirmed"] },
    },
    {
      name: "stock reserved, then payment failed",
      results: [reserved, declined],
      expect: { status: "CANCELLED", steps: ["placed", "stock_reserved", "payment_failed", "cancelled"] },
    },
    {
      name: "payment failed, then stock reserved",
      results: [declined, reserved],
      expect: { status: "CANCELLED", steps: ["placed", "stock_reserved", "payment_failed", "cancelled"] },
    },
  ];

  for (const c of cases) {
    it(`when ${c.name}, each twice, then the order is ${c.expect.status} with every result recorded once`, async () => {
      const orderId = await newOrder();
      for (const result of c.results) {
        await result(orderId);
        await result(orderId); // a repeated result (another delivery) changes nothing
      }
      const order = await getOrder(t.db, orderId);
      assert.equal(order.status, c.expect.status);
      assert.deepEqual(
        order.timeline.map((s) => s.step),
        c.expect.steps,
      );
      // The stock result is never lost, whichever result came first.
      assert.equal(order.totalCents, 12498);
      assert.deepEqual(
        order.items.map((i) => i.unitPriceCents),
        [4999, 2500],
      );
      assert.equal(order.waitingOn, null);
      const expected = c.expect.status === "CONFIRMED" ? ["orders.order.confirmed"] : ["orders.order.cancelled"];
      assert.deepEqual(await events(orderId), expected);
      if (c.expect.status === "CANCELLED") assert.equal(order.cancelReason, "payment declined: card declined");
    });
  }

  it("when the payment result comes first, then the order waits on stock and says so", async () => {
    const orderId = await newOrder();
    await paid(orderId);
    const order = await getOrder(t.db, orderId);
    assert.equal(order.status, "PENDING");
    assert.equal(order.waitingOn, "stock");
    assert.deepEqual(
      order.timeline.map((s) => s.step),
      ["placed"],
    );
    assert.deepEqual(await events(orderId), []);
  });

  it("when stock is rejected, twice, then the order is cancelled once with the reason and no release is asked", async () => {
    const orderId = await newOrder();
    await rejected(orderId);
    await rejected(orderId);
    const order = await getOrder(t.db, orderId);
    assert.equal(order.status, "CANCELLED");
    assert.equal(order.cancelReason, "out of stock: KB-001 (requested 2, available 1)");
    assert.deepEqual(
      order.timeline.map((s) => s.step),
      ["placed", "stock_rejected", "cancelled"],
    );
    assert.deepEqual(await events(orderId), ["orders.order.cancelled"]);
  });

  it("when a result names an unknown order, then it is a permanent error (dead letter)", async () => {
    await assert.rejects(paid(randomUUID()), (err: Error) => err.name === "PermanentError");
  });

  it("when the order is notified, then the step is added after the final one", async () => {
    const orderId = await newOrder();
    await reserved(orderId);
    await paid(orderId);
    await t.db.transaction((tx) => recordNotified(tx, orderId, "order_confirmed"));
    const order = await getOrder(t.db, orderId);
    assert.deepEqual(order.timeline.map((s) => s.step).slice(-2), ["confirmed", "notified"]);
  });

  it("when a batch applies several results in one transaction of the runner, then its writes go as one statement before COMMIT and every order ends as if one by one", async () => {
    const [a, b, c] = [await newOrder(), await newOrder(), await newOrder()];
    let statements = 0;
    const url = (t.pool as unknown as { options: { connectionString: string } }).options.connectionString;
    const counting = createPool({ url, applicationName: "saga-batch", onStatement: () => statements++ });
    await transaction(drizzle(counting), async (tx) => {
      await lockOrders(tx, [c, a, b]);
      // Both results of order a in the same batch, and a repeat: applied in turn, in memory.
      for (const id of [a, b, c]) await applyReserved(tx, id);
      await applyPaid(tx, a);
      await applyPaid(tx, a);
      await applyDeclined(tx, b);
      await recordNotified(tx, a, "order_confirmed");
      // Nothing written yet: the batch's changes go to Postgres just before COMMIT.
      const { rows } = await t.pool.query("SELECT count(*)::int AS n FROM orders.order_timeline WHERE order_id = $1", [
        a,
      ]);
      assert.equal(rows[0].n, 1, "only 'placed', committed before");
    });
    await counting.end();
    // Three round trips: BEGIN with the lock of the three orders; one NOTIFY for the relays (none
    // runs in this process); the writes of every table (unit prices, orders, timeline, outbox) as one
    // statement with COMMIT: an order locked once is not asked for again.
    assert.equal(statements, 3);
    const orderA = await getOrder(t.db, a);
    assert.equal(orderA.status, "CONFIRMED");
    assert.deepEqual(
      orderA.timeline.map((s) => s.step),
      ["placed", "stock_reserved", "payment_succeeded", "confirmed", "notified"],
    );
    assert.deepEqual(
      orderA.items.map((i) => i.unitPriceCents),
      [4999, 2500],
    );
    assert.equal(orderA.waitingOn, null);
    assert.deepEqual(await events(a), ["orders.order.confirmed"]);
    const orderB = await getOrder(t.db, b);
    assert.equal(orderB.status, "CANCELLED");
    assert.equal(orderB.cancelReason, "payment declined: card declined");
    assert.deepEqual(await events(b), ["orders.order.cancelled"]);
    const orderC = await getOrder(t.db, c);
    assert.equal(orderC.status, "PENDING");
    assert.equal(orderC.waitingOn, "payment");
    assert.equal(orderC.totalCents, 12498);
    const waiting = await t.pool.query("SELECT waiting_since IS NOT NULL AS w FROM orders.orders WHERE id = $1", [c]);
    assert.equal(waiting.rows[0].w, true, "waiting since the stock result");
  });

  it("when a batch fails after its results were applied in memory, then nothing of it is written", async () => {
    const orderId = await newOrder();
    await assert.rejects(
      transaction(t.db, async (tx) => {
        await applyReserved(tx, orderId);
        await applyPaid(tx, orderId);
        throw new Error("a later handler of the batch failed");
      }),
    );
    const order = await getOrder(t.db, orderId);
    assert.equal(order.status, "PENDING");
    assert.deepEqual(
      order.timeline.map((s) => s.step),
      ["placed"],
    );
    assert.deepEqual(await events(orderId), []);
  });
});
