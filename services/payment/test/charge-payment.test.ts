import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { StockReservedSchema } from "@orderflow/contracts";
import { createPool, transaction } from "@orderflow/db";
import { migrateServiceSchema } from "@orderflow/messaging";
import { type ComponentDatabase, componentDatabase } from "@orderflow/stack";
import { drizzle } from "drizzle-orm/node-postgres";
import { PAYMENT } from "../src/app.js";
import { chargePayment, readCharges } from "../src/charge-payment.js";
import { type PaymentProvider, simulatedProvider } from "../src/payment-provider.js";

/** Charging against the real Postgres, with the simulated provider (a fake of something outside the system). */
describe("chargePayment (against Postgres)", () => {
  let t: ComponentDatabase;
  const q = (sql: string, params: unknown[] = []) => t.rows(sql, params);

  before(async () => {
    t = await componentDatabase("payment", (pool) => migrateServiceSchema(pool, PAYMENT));
  });
  after(() => t?.close());

  const reserved = (paymentToken: string) =>
    create(StockReservedSchema, { orderId: randomUUID(), customerId: "c-1", paymentToken, totalCents: 12_345n });
  const calls: string[] = [];
  const provider: PaymentProvider = {
    charge: (request) => {
      calls.push(request.orderId);
      return simulatedProvider().charge(request);
    },
  };
  const outbox = async (orderId: string) =>
    (
      await q("SELECT subject FROM payments.outbox WHERE position(convert_to($1, 'UTF8') in payload) > 0", [orderId])
    ).map((r) => r.subject);

  it("when the same order is charged twice, then there is one charge and one event", async () => {
    const event = reserved("tok_visa");
    await transaction(t.db, (tx) => chargePayment(tx, event, provider));
    await transaction(t.db, (tx) => chargePayment(tx, event, provider));
    const charges = await q("SELECT status, amount_cents FROM payments.charges WHERE order_id = $1", [event.orderId]);
    assert.deepEqual(charges, [{ status: "succeeded", amount_cents: "12345" }]); // bigint comes back as text
    assert.deepEqual(await outbox(event.orderId), ["payments.payment.succeeded"]);
    // The provider may be asked again (its own idempotency key, the order id, answers it): never a second charge row.
    assert.ok(calls.filter((c) => c === event.orderId).length >= 1);
  });

  it("when the card is declined, then a declined charge is recorded and payment failed is announced", async () => {
    const event = reserved("tok_declined");
    await transaction(t.db, (tx) => chargePayment(tx, event, provider));
    const charges = await q("SELECT status, decline_reason FROM payments.charges WHERE order_id = $1", [event.orderId]);
    assert.deepEqual(charges, [{ status: "declined", decline_reason: "card declined" }]);
    assert.deepEqual(await outbox(event.orderId), ["payments.payment.failed"]);
  });

  it("when the token is one the provider does not know, then declined with a reason that does not echo the token", async () => {
    const event = reserved("tok_unheard_of");
    await transaction(t.db, (tx) => chargePayment(tx, event, provider));
    const charges = await q("SELECT status, decline_reason FROM payments.charges WHERE order_id = $1", [event.orderId]);
    assert.deepEqual(charges, [{ status: "declined", decline_reason: "unknown payment token" }]);
  });
  it("when a batch charges four orders (one charged before) in one transaction of the runner, then one read and one write", async () => {
    const events = [reserved("tok_visa"), reserved("tok_declined"), reserved("tok_visa"), reserved("tok_visa")];
    const before = events[3] as (typeof events)[number];
    await transaction(t.db, (tx) => chargePayment(tx, before, provider));
    const asked = calls.length;
    let statements = 0;
    const url = (t.pool as unknown as { options: { connectionString: string } }).options.connectionString;
    const counting = createPool({ url, applicationName: "charge-batch", onStatement: () => statements++ });
    try {
      await transaction(drizzle(counting), async (tx) => {
        await readCharges(
          tx,
          events.map((e) => e.orderId),
        );
        for (const event of events) await chargePayment(tx, event, provider);
      });
    } finally {
      await counting.end();
    }
    // Three round trips: BEGIN with the read; one NOTIFY (no relay runs here); the charges and the
    // outbox as one statement with COMMIT.
    assert.equal(statements, 3);
    assert.equal(calls.length - asked, 3, "the order charged before is not asked again");
    for (const event of events) {
      assert.equal(
        (await q("SELECT count(*)::int AS n FROM payments.charges WHERE order_id = $1", [event.orderId]))[0].n,
        1,
      );
      assert.equal((await outbox(event.orderId)).length, 1, "one event per order");
    }
  });

  it("when two transactions charge one order at once (two events for it), then one charge and one event: the other fails and its retry changes nothing", async () => {
    const event = reserved("tok_visa");
    let inside = 0;
    const charge = () =>
      transaction(t.db, async (tx) => {
        await chargePayment(tx, event, provider);
        inside++;
        for (let i = 0; i < 50 && inside < 2; i++) await new Promise((r) => setTimeout(r, 10));
      });
    const results = await Promise.allSettled([charge(), charge()]);
    assert.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
    await transaction(t.db, (tx) => chargePayment(tx, event, provider)); // the failed one, retried alone
    assert.equal(
      (await q("SELECT count(*)::int AS n FROM payments.charges WHERE order_id = $1", [event.orderId]))[0].n,
      1,
    );
    assert.deepEqual(await outbox(event.orderId), ["payments.payment.succeeded"]);
  });
});
