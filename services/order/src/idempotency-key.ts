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
 *
 * Keys are per caller (owner = the token's issuer and subject): another
 * caller's key is invisible, so a replay or a conflict never crosses callers.
 * A row written before callers were known (owner " <customerId>", migration
 * 0005) still counts for its customer.
 */
import { createHash } from "node:crypto";
import type { Tx } from "@orderflow/db";
import { and, eq, inArray, sql } from "drizzle-orm";
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

/** The owner of a caller's keys: "<issuer> <subject>" (neither holds a space). */
export function keyOwner(caller: { issuer: string; subject: string }): string {
  return `${caller.issuer} ${caller.subject}`;
}

/** The owner of the caller's keys written before callers were known. */
const legacyOwner = (caller: { subject: string }) => ` ${caller.subject}`;

/** Claims `key` of `caller` for `orderId` inside `tx`, or reports whose it already is. */
export async function claimIdempotencyKey(
  tx: Tx,
  caller: { issuer: string; subject: string },
  key: string,
  hash: string,
  orderId: string,
): Promise<ClaimResult> {
  const owner = keyOwner(caller);
  const legacy = legacyOwner(caller);
  // One statement: the claim, unless the caller holds the key from before callers were known.
  const inserted = await tx.execute<{ order_id: string }>(sql`
    INSERT INTO ${idempotencyKeys} (owner, key, request_hash, order_id)
    SELECT ${owner}, ${key}, ${hash}, ${orderId}
    WHERE NOT EXISTS (SELECT 1 FROM ${idempotencyKeys} WHERE owner = ${legacy} AND key = ${key})
    ON CONFLICT (owner, key) DO NOTHING
    RETURNING order_id`);
  if (inserted.rows.length === 1) return { outcome: "claimed" };
  // ON CONFLICT waited for a concurrent claimer to commit; its row is visible now.
  const [existing] = await tx
    .select({ requestHash: idempotencyKeys.requestHash, orderId: idempotencyKeys.orderId })
    .from(idempotencyKeys)
    .where(and(inArray(idempotencyKeys.owner, [owner, legacy]), eq(idempotencyKeys.key, key)))
    .for("share");
  if (!existing) throw new Error(`idempotency key ${JSON.stringify(key)} conflicted but cannot be read`);
  return existing.requestHash === hash
    ? { outcome: "replay", orderId: existing.orderId }
    : { outcome: "conflict", orderId: existing.orderId };
}
