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
import { and, eq, inArray, type SQL, sql } from "drizzle-orm";
import { idempotencyKeys } from "./db/schema.js";

export type ClaimResult = { outcome: "replay"; orderId: string } | { outcome: "conflict"; orderId: string };

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

/**
 * The claim of `key` for `orderId`, as one INSERT ... RETURNING order_id to run
 * inside the statement that places the order (place-order.ts): a row when it
 * claimed the key; none when the caller holds it already (under its owner, or
 * from before callers were known), after waiting for a concurrent claimer to
 * commit. Then existingClaim says whose it is.
 */
export function claimKey(caller: { issuer: string; subject: string }, key: string, hash: string, orderId: string): SQL {
  return sql`
    INSERT INTO ${idempotencyKeys} (owner, key, request_hash, order_id)
    SELECT ${keyOwner(caller)}, ${key}, ${hash}, ${orderId}
    WHERE NOT EXISTS (SELECT 1 FROM ${idempotencyKeys} WHERE owner = ${legacyOwner(caller)} AND key = ${key})
    ON CONFLICT (owner, key) DO NOTHING
    RETURNING order_id`;
}

/** Whose a key is that the caller could not claim: a replay of the same request, or a conflict. */
export async function existingClaim(
  db: Tx,
  caller: { issuer: string; subject: string },
  key: string,
  hash: string,
): Promise<ClaimResult> {
  const [existing] = await db
    .select({ requestHash: idempotencyKeys.requestHash, orderId: idempotencyKeys.orderId })
    .from(idempotencyKeys)
    .where(and(inArray(idempotencyKeys.owner, [keyOwner(caller), legacyOwner(caller)]), eq(idempotencyKeys.key, key)));
  if (!existing) throw new Error(`idempotency key ${JSON.stringify(key)} was not claimed but cannot be read`);
  return existing.requestHash === hash
    ? { outcome: "replay", orderId: existing.orderId }
    : { outcome: "conflict", orderId: existing.orderId };
}
