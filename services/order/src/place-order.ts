/**
 * PlaceOrder: validate, claim the idempotency key, and write the order, its
 * items, the first timeline step and the `orders.order.placed` event in ONE
 * transaction. Everything after this moves as events (consumer-owned).
 */

import { EVENTS } from "@orderflow/contracts";
import { newId, transaction } from "@orderflow/db";
import { addToOutbox } from "@orderflow/messaging";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import { messaging, orderItems, orders, orderTimeline } from "./db/schema.js";
import { IdempotencyConflictError } from "./errors.js";
import { claimIdempotencyKey, requestHash } from "./idempotency-key.js";
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
  return transaction(deps.db, async (tx) => {
    const orderId = newId();
    if (!deps.ignoreIdempotencyKey) {
      const claim = await claimIdempotencyKey(tx, caller, request.idempotencyKey, hash, orderId);
      if (claim.outcome === "replay") return { orderId: claim.orderId, replayed: true };
      if (claim.outcome === "conflict") {
        throw new IdempotencyConflictError(
          `idempotency key ${JSON.stringify(request.idempotencyKey)} was already used with a different request (order ${claim.orderId})`,
        );
      }
    }
    const now = new Date();
    await tx.insert(orders).values({
      id: orderId,
      customerId: request.customerId,
      status: "PENDING",
      paymentToken: request.paymentToken,
      waitingOn: "stock",
      waitingSince: now,
      createdAt: now,
      updatedAt: now,
    });
    await tx
      .insert(orderItems)
      .values(request.items.map((item, lineNo) => ({ orderId, lineNo, sku: item.sku, quantity: item.quantity })));
    await tx.insert(orderTimeline).values({ orderId, step: "placed", at: now });
    await addToOutbox(tx, messaging.outbox, EVENTS.orderPlaced, {
      orderId,
      customerId: request.customerId,
      items: request.items,
      paymentToken: request.paymentToken,
    });
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
  });
}
