/**
 * PlaceOrder: validate, claim the idempotency key, and write the order, its
 * items, the first timeline step and the `orders.order.placed` event in ONE
 * transaction. Everything after this moves as events (consumer-owned).
 */

import { randomUUID } from "node:crypto";
import { DEFAULT_PAYMENT_TOKEN, EVENTS, ORDER_LIMITS } from "@orderflow/contracts";
import { transaction } from "@orderflow/db";
import { addToOutbox } from "@orderflow/messaging";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import { messaging, orderItems, orders, orderTimeline } from "./db/schema.js";
import { IdempotencyConflictError, InvalidArgumentError } from "./errors.js";
import { claimIdempotencyKey, requestHash } from "./idempotency-key.js";

export interface PlaceOrderInput {
  idempotencyKey: string;
  customerId: string;
  items: { sku: string; quantity: number }[];
  paymentToken?: string;
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
}

export async function placeOrder(deps: PlaceOrderDeps, input: PlaceOrderInput): Promise<PlaceOrderResult> {
  const request = validatePlaceOrder(input);
  const hash = requestHash(request);
  return transaction(deps.db, async (tx) => {
    const orderId = randomUUID();
    if (!deps.ignoreIdempotencyKey) {
      const claim = await claimIdempotencyKey(tx, request.idempotencyKey, hash, orderId);
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
    return { orderId, replayed: false };
  });
}

type ValidRequest = Required<PlaceOrderInput>;

/** The order service's own validation; the gateway checks the same limits at the edge. */
export function validatePlaceOrder(input: PlaceOrderInput): ValidRequest {
  const L = ORDER_LIMITS;
  checkString("idempotencyKey", input.idempotencyKey, L.idempotencyKey);
  checkString("customerId", input.customerId, L.customerId);
  if (input.items.length < L.items.minItems) throw new InvalidArgumentError("items", "must name at least one item");
  if (input.items.length > L.items.maxItems) {
    throw new InvalidArgumentError("items", `must name at most ${L.items.maxItems} items`);
  }
  const seen = new Map<string, number>();
  input.items.forEach((item, i) => {
    checkString(`items[${i}].sku`, item.sku, L.sku);
    const q = item.quantity;
    if (!Number.isInteger(q) || q < L.quantity.minimum || q > L.quantity.maximum) {
      throw new InvalidArgumentError(
        `items[${i}].quantity`,
        `must be a whole number from ${L.quantity.minimum} to ${L.quantity.maximum}`,
      );
    }
    const earlier = seen.get(item.sku);
    if (earlier !== undefined) {
      throw new InvalidArgumentError(`items[${i}].sku`, `repeats items[${earlier}].sku; give one line per SKU`);
    }
    seen.set(item.sku, i);
  });
  const paymentToken = input.paymentToken || DEFAULT_PAYMENT_TOKEN;
  checkString("paymentToken", paymentToken, L.paymentToken);
  return {
    idempotencyKey: input.idempotencyKey,
    customerId: input.customerId,
    items: input.items.map(({ sku, quantity }) => ({ sku, quantity })),
    paymentToken,
  };
}

export function checkString(
  field: string,
  value: string,
  limit: { minLength: number; maxLength: number; pattern: string },
) {
  if (value.length < limit.minLength) throw new InvalidArgumentError(field, "is required");
  if (value.length > limit.maxLength)
    throw new InvalidArgumentError(field, `must be at most ${limit.maxLength} characters`);
  if (!new RegExp(limit.pattern).test(value)) {
    throw new InvalidArgumentError(field, `must match ${limit.pattern}`);
  }
}
