import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { StockReservedSchema } from "@orderflow/contracts";
import { transaction } from "@orderflow/db";
import { migrateServiceSchema } from "@orderflow/messaging";
import { type ComponentDatabase, componentDatabase } from "@orderflow/stack";
import { PAYMENT } from "../src/app.js";
import { chargePayment } from "../src/charge-payment.js";
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
});
