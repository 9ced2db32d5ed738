/**
 * The idempotency key: the caller's half of caller-owned completion.
 *
 * The gateway retries PlaceOrder when a reply is late or the connection drops,
 * and a late reply may hide a committed order. Each attempt carries the same
 * client-chosen key; the key is claimed in the transaction that writes the
 * order, against a primary key, so:
 * - the first attempt claims it and places the order;
 * - any later attempt (or a concurrent one, which waits on the row lock and
 *   then sees the committed claim) gets the order already placed;
 * - the same key with a different request is refused: it is a client bug, and
 *   answering with the other request's order would be a lie.
 * Never check-then-insert: two racing requests would both see "no such key".
 */
import { createHash } from "node:crypto";
import type { Tx } from "@orderflow/db";
import { eq } from "drizzle-orm";
import { idempotencyKeys } from "./db/schema.js";

export type ClaimResult =
  | { outcome: "claimed" }
  | { outcome: "replay"; orderId: string }
  | { outcome: "conflict"; orderId: string };

/** A stable hash of what the request asks for (not of its key). */
export function requestHash(request: {
  customerId: string;
  items: { sku: string; quantity: number }[];
  paymentToken: string;
}): string {
  const canonical = JSON.stringify([
    request.customerId,
    request.items.map((i) => [i.sku, i.quantity]),
    request.paymentToken,
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}

/** Claims `key` for `orderId` inside `tx`, or reports whose it already is. */
export async function claimIdempotencyKey(tx: Tx, key: string, hash: string, orderId: string): Promise<ClaimResult> {
  const inserted = await tx
    .insert(idempotencyKeys)
    .values({ key, requestHash: hash, orderId })
    .onConflictDoNothing({ target: idempotencyKeys.key })
    .returning({ orderId: idempotencyKeys.orderId });
  if (inserted.length === 1) return { outcome: "claimed" };
  // ON CONFLICT waited for a concurrent claimer to commit; its row is visible now.
  const [existing] = await tx
    .select({ requestHash: idempotencyKeys.requestHash, orderId: idempotencyKeys.orderId })
    .from(idempotencyKeys)
    .where(eq(idempotencyKeys.key, key))
    .for("share");
  if (!existing) throw new Error(`idempotency key ${JSON.stringify(key)} conflicted but cannot be read`);
  return existing.requestHash === hash
    ? { outcome: "replay", orderId: existing.orderId }
    : { outcome: "conflict", orderId: existing.orderId };
}
