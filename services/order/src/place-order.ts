/**
 * PlaceOrder: validate, claim the idempotency key, and write the order, its
 * items, the first timeline step and the `orders.order.placed` event in ONE
 * statement, its own transaction, sent in one round trip (before, BEGIN, six
 * statements and COMMIT: eight). Everything after this moves as events
 * (consumer-owned).
 */

import { EVENTS } from "@orderflow/contracts";
import { newId } from "@orderflow/db";
import { localRelay, outboxChannel, outboxRow } from "@orderflow/messaging";
import { sql } from "drizzle-orm";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import { getTableConfig } from "drizzle-orm/pg-core";
import { messaging, orderItems, orders, orderTimeline } from "./db/schema.js";
import { IdempotencyConflictError } from "./errors.js";
import { claimKey, existingClaim, requestHash } from "./idempotency-key.js";
import type { OrderView } from "./order-view.js";
import { type PlaceOrderInput, validatePlaceOrder } from "./place-order-request.js";

/** Who places the order: the verified token's issuer and subject (the customer). */
export interface OrderCaller {
  issuer: string;
  subject: string;
}

export interface PlaceOrderDeps {
  db: NodePgDatabase;
  /** UNSAFE_ORDER_IGNORE_IDEMPOTENCY_KEY: the safeguard off, for the duplicate-order scenario only. */
  ignoreIdempotencyKey?: boolean;
}

export interface PlaceOrderResult {
  orderId: string;
  /** The order already existed under this key: this call placed nothing. */
  replayed: boolean;
  /** The order as this call wrote it (absent when replayed): no need to read it back. */
  placed?: OrderView;
}

export async function placeOrder(
  deps: PlaceOrderDeps,
  caller: OrderCaller,
  input: PlaceOrderInput,
): Promise<PlaceOrderResult> {
  const request = validatePlaceOrder(input);
  const hash = requestHash(request);
  const orderId = newId();
  const now = new Date();
  const row = outboxRow(EVENTS.orderPlaced, {
    orderId,
    customerId: request.customerId,
    items: request.items,
    paymentToken: request.paymentToken,
  });
  const schema = getTableConfig(messaging.outbox).schema ?? "orders";
  const relay = localRelay(schema);
  const ignoreKey = deps.ignoreIdempotencyKey === true;
  // One statement, so one round trip and its own transaction: the key's claim, and only when it
  // claimed, the order, its items, its first step and its event. A statement is atomic: all of
  // it commits or none. The relay of this process publishes the event from memory once it has
  // returned; without one, the statement wakes the relays by NOTIFY (delivered at commit).
  const { rows } = await deps.db.execute<{ placed: boolean }>(sql`
    WITH claim AS (${ignoreKey ? sql`SELECT ${orderId}::uuid AS order_id` : claimKey(caller, request.idempotencyKey, hash, orderId)}),
    placed AS (
      INSERT INTO ${orders} (id, customer_id, status, payment_token, waiting_on, waiting_since, created_at, updated_at)
      SELECT ${orderId}, ${request.customerId}, 'PENDING', ${request.paymentToken}, 'stock', ${now}, ${now}, ${now}
      FROM claim
      RETURNING id),
    items AS (
      INSERT INTO ${orderItems} (order_id, line_no, sku, quantity)
      SELECT placed.id, line.n - 1, line.sku, line.quantity
      FROM placed, unnest(${sql.param(request.items.map((i) => i.sku))}::text[],
                          ${sql.param(request.items.map((i) => i.quantity))}::int[]) WITH ORDINALITY AS line(sku, quantity, n)),
    timeline AS (
      INSERT INTO ${orderTimeline} (order_id, step, at) SELECT id, 'placed', ${now} FROM placed),
    event AS (
      INSERT INTO ${messaging.outbox} (id, subject, payload, headers)
      SELECT ${row.id}, ${row.subject}, ${sql.param(row.payload)}, ${JSON.stringify(row.headers)}::jsonb FROM placed)
    SELECT EXISTS (SELECT 1 FROM placed) AS placed${relay ? sql`` : sql`, (SELECT pg_notify(${outboxChannel(schema)}, '') FROM placed) AS woken`}`);
  if (!rows[0]?.placed) {
    const claim = await existingClaim(deps.db, caller, request.idempotencyKey, hash);
    if (claim.outcome === "replay") return { orderId: claim.orderId, replayed: true };
    throw new IdempotencyConflictError(
      `idempotency key ${JSON.stringify(request.idempotencyKey)} was already used with a different request (order ${claim.orderId})`,
    );
  }
  relay?.(row);
  const placed: OrderView = {
    id: orderId,
    customerId: request.customerId,
    status: "PENDING",
    paymentToken: request.paymentToken,
    totalCents: null,
    cancelReason: null,
    waitingOn: "stock",
    waitingSince: now,
    createdAt: now,
    updatedAt: now,
    items: request.items.map((item) => ({ sku: item.sku, quantity: item.quantity, unitPriceCents: null })),
    timeline: [{ step: "placed", detail: "", at: now }],
  };
  return { orderId, replayed: false, placed };
}
