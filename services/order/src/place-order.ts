/**
 * PlaceOrder: validate, claim the idempotency key, and write the order, its
 * items, the first timeline step and the `orders.order.placed` event in ONE
 * statement, its own transaction, sent in one round trip (before, BEGIN, six
 * statements and COMMIT: eight). Placements that arrive while one is being
 * written share the next statement (group commit): under load, one round trip
 * and one commit place many orders, each key keeping its own outcome.
 * Everything after this moves as events (consumer-owned).
 */

import { EVENTS } from "@orderflow/contracts";
import { newId } from "@orderflow/db";
import { localRelay, outboxChannel, outboxRow, type WrittenRow } from "@orderflow/messaging";
import { type SQL, sql } from "drizzle-orm";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import { getTableConfig } from "drizzle-orm/pg-core";
import { messaging, orderItems, orders, orderTimeline } from "./db/schema.js";
import { IdempotencyConflictError } from "./errors.js";
import { groupCommit } from "./group-commit.js";
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

/** One placement, ready to be written: its key's claim, its order, its event. */
interface Placement {
  caller: OrderCaller;
  request: ReturnType<typeof validatePlaceOrder>;
  hash: string;
  orderId: string;
  now: Date;
  row: WrittenRow;
  ignoreKey: boolean;
}

const OUTBOX_SCHEMA = getTableConfig(messaging.outbox).schema ?? "orders";

/**
 * One placement's part of the statement, its CTEs named p<i>_...: the key's
 * claim, and only when it claimed, the order, its items, its first step and
 * its event.
 */
function placementCtes(p: Placement, i: number): SQL {
  const { request } = p;
  const name = (part: string) => sql.raw(`p${i}_${part}`);
  return sql`
    ${name("claim")} AS (${p.ignoreKey ? sql`SELECT ${p.orderId}::uuid AS order_id` : claimKey(p.caller, request.idempotencyKey, p.hash, p.orderId)}),
    ${name("placed")} AS (
      INSERT INTO ${orders} (id, customer_id, status, payment_token, waiting_on, waiting_since, created_at, updated_at)
      SELECT ${p.orderId}, ${request.customerId}, 'PENDING', ${request.paymentToken}, 'stock', ${p.now}, ${p.now}, ${p.now}
      FROM ${name("claim")}
      RETURNING id),
    ${name("items")} AS (
      INSERT INTO ${orderItems} (order_id, line_no, sku, quantity)
      SELECT placed.id, line.n - 1, line.sku, line.quantity
      FROM ${name("placed")} AS placed, unnest(${sql.param(request.items.map((item) => item.sku))}::text[],
                          ${sql.param(request.items.map((item) => item.quantity))}::int[]) WITH ORDINALITY AS line(sku, quantity, n)),
    ${name("timeline")} AS (
      INSERT INTO ${orderTimeline} (order_id, step, at) SELECT id, 'placed', ${p.now} FROM ${name("placed")}),
    ${name("event")} AS (
      INSERT INTO ${messaging.outbox} (id, subject, payload, headers)
      SELECT ${p.row.id}, ${p.row.subject}, ${sql.param(p.row.payload)}, ${JSON.stringify(p.row.headers)}::jsonb FROM ${name("placed")})`;
}

/**
 * Several placements in ONE statement, so one round trip and one transaction:
 * a statement is atomic, all of it commits or none. Returns, for each, whether
 * it placed its order (false: its key was held already). The relay of this
 * process publishes the events from memory once it has returned; without one,
 * the statement wakes the relays by NOTIFY (delivered at commit).
 */
async function writePlacements(db: NodePgDatabase, placements: Placement[]): Promise<boolean[]> {
  const relay = localRelay(OUTBOX_SCHEMA);
  const placedFlags = placements.map((_, i) => sql`EXISTS (SELECT 1 FROM ${sql.raw(`p${i}_placed`)})`);
  const { rows } = await db.execute<Record<string, boolean>>(sql`
    WITH ${sql.join(
      placements.map((p, i) => placementCtes(p, i)),
      sql`,`,
    )}
    SELECT ${sql.join(
      placedFlags.map((flag, i) => sql`${flag} AS ${sql.raw(`p${i}`)}`),
      sql`, `,
    )}${relay ? sql`` : sql`, (SELECT pg_notify(${outboxChannel(OUTBOX_SCHEMA)}, '') WHERE ${sql.join(placedFlags, sql` OR `)}) AS woken`}`);
  const placed = placements.map((_, i) => rows[0]?.[`p${i}`] === true);
  placements.forEach((p, i) => {
    if (placed[i]) relay?.(p.row);
  });
  return placed;
}

/**
 * Concurrent placements share a statement (group commit, group-commit.ts): one
 * that arrives while another is written waits for it, then goes with every
 * other that waited, up to 32. One per database.
 */
const groups = new WeakMap<NodePgDatabase, (p: Placement) => Promise<boolean>>();
function placementGroupOf(db: NodePgDatabase) {
  let group = groups.get(db);
  if (!group) {
    group = groupCommit((placements: Placement[]) => writePlacements(db, placements), { maxSize: 32 });
    groups.set(db, group);
  }
  return group;
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
  const placed = await placementGroupOf(deps.db)({
    caller,
    request,
    hash,
    orderId,
    now,
    row,
    ignoreKey: deps.ignoreIdempotencyKey === true,
  });
  if (!placed) {
    const claim = await existingClaim(deps.db, caller, request.idempotencyKey, hash);
    if (claim.outcome === "replay") return { orderId: claim.orderId, replayed: true };
    throw new IdempotencyConflictError(
      `idempotency key ${JSON.stringify(request.idempotencyKey)} was already used with a different request (order ${claim.orderId})`,
    );
  }
  const view: OrderView = {
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
  return { orderId, replayed: false, placed: view };
}
