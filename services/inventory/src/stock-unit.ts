/**
 * A transaction's unit of work over the stock (`unitOfWork`, packages/db): the
 * rows it locked (in ONE statement, in SKU order, so two batches never
 * deadlock), changed in memory by each handler, and written just before
 * COMMIT with the new reservations and the outbox rows, as one statement. A
 * batch of 32 placed orders costs a lock and one statement of writes, not four
 * statements per order. Outside a transaction of `transaction()` (a drizzle
 * transaction, a test) every change is written at once.
 */
import { type Tx, unitOfWork } from "@orderflow/db";
import { inArray, type SQL, sql } from "drizzle-orm";
import { reservations, stock } from "./db/schema.js";

type StockRow = typeof stock.$inferSelect;
type NewReservation = { orderId: string; sku: string; quantity: number };

type HeldLine = { sku: string; quantity: number };

interface StockUnit {
  /** Every stock row locked in this transaction, as it is now (changes applied). */
  locked: Map<string, StockRow>;
  changed: Set<string>;
  reservations: NewReservation[];
  /** The lines still held by each order whose reservations this transaction locked (settled ones removed). */
  held: Map<string, HeldLine[]>;
  /** Orders whose held reservations this transaction settled, and to what. */
  settled: Map<string, "released" | "committed">;
}

const units = unitOfWork<StockUnit>(
  () => ({ locked: new Map(), changed: new Set(), reservations: [], held: new Map(), settled: new Map() }),
  (tx, unit) => changes(tx, unit),
);

/**
 * Locks the reservations still held by these orders (in order id and SKU
 * order) and the stock rows they hold (in SKU order, those not yet locked), in
 * ONE statement: a batch of settled orders reads and locks what it settles
 * at once, instead of an UPDATE per order. A reservation settled meanwhile by
 * another transaction is not returned (its lock waited, then its status was
 * read again).
 */
export async function lockHeldReservations(tx: Tx, orderIds: string[]): Promise<void> {
  const unit = units.of(tx);
  const wanted = [...new Set(orderIds)].filter((id) => !unit.held.has(id)).sort();
  if (!wanted.length) return;
  const { rows } = await tx.execute<{
    kind: "held" | "stock";
    sku: string;
    order_id: string | null;
    quantity: number | null;
    name: string | null;
    unit_price_cents: string | null;
    available: number | null;
    reserved: number | null;
    updated_at: Date | null;
  }>(sql`
    WITH held AS (
      SELECT order_id, sku, quantity FROM inventory.reservations
       WHERE order_id IN (SELECT jsonb_array_elements_text(${JSON.stringify(wanted)}::jsonb)::uuid)
         AND status = 'reserved'
       ORDER BY order_id, sku
         FOR UPDATE
    ), locked AS (
      SELECT s.* FROM inventory.stock s
       WHERE s.sku IN (SELECT sku FROM held)
         AND s.sku NOT IN (SELECT jsonb_array_elements_text(${JSON.stringify([...unit.locked.keys()])}::jsonb))
       ORDER BY s.sku
         FOR UPDATE
    )
    SELECT 'stock' AS kind, sku, NULL::uuid AS order_id, NULL::int AS quantity, name, unit_price_cents,
           available, reserved, updated_at FROM locked
    UNION ALL
    SELECT 'held', sku, order_id, quantity, NULL, NULL, NULL, NULL, NULL FROM held`);
  for (const id of wanted) unit.held.set(id, []);
  for (const r of rows) {
    if (r.kind === "stock") {
      unit.locked.set(r.sku, {
        sku: r.sku,
        name: r.name as string,
        unitPriceCents: Number(r.unit_price_cents),
        available: r.available as number,
        reserved: r.reserved as number,
        updatedAt: r.updated_at as Date,
      });
    } else unit.held.get(r.order_id as string)?.push({ sku: r.sku, quantity: r.quantity as number });
  }
}

/**
 * Settles what the order still holds (locking it first if the batch did not):
 * its stock leaves `reserved`, and comes back to `available` when released.
 * Returns how many lines it settled (0: nothing held, e.g. settled before).
 */
export async function settleHeld(tx: Tx, orderId: string, to: "released" | "committed"): Promise<number> {
  await lockHeldReservations(tx, [orderId]);
  const unit = units.of(tx);
  const lines = unit.held.get(orderId) ?? [];
  unit.held.set(orderId, []);
  if (!lines.length) return 0;
  for (const line of lines) {
    const row = unit.locked.get(line.sku);
    if (!row) throw new Error(`stock ${line.sku} held by order ${orderId} was not locked`);
    row.reserved -= line.quantity;
    if (to === "released") row.available += line.quantity;
    unit.changed.add(line.sku);
  }
  unit.settled.set(orderId, to);
  await units.saved(tx);
  return lines.length;
}

/** Locks the stock rows of `skus` not yet locked in this transaction, in one statement, in SKU order. */
export async function lockStock(tx: Tx, skus: string[]): Promise<void> {
  const unit = units.of(tx);
  const wanted = [...new Set(skus)].filter((sku) => !unit.locked.has(sku)).sort();
  if (!wanted.length) return;
  const rows = await tx.select().from(stock).where(inArray(stock.sku, wanted)).orderBy(stock.sku).for("update");
  for (const row of rows) unit.locked.set(row.sku, row);
}

/** A stock row locked in this transaction (undefined: no such SKU). */
export function lockedStock(tx: Tx, sku: string): StockRow | undefined {
  return units.of(tx).locked.get(sku);
}

/** Moves quantities of a locked row (negative to take away); written before COMMIT, or at once. */
export async function changeStock(
  tx: Tx,
  sku: string,
  change: { available?: number; reserved?: number },
  newReservation?: NewReservation,
): Promise<void> {
  const unit = units.of(tx);
  const row = unit.locked.get(sku);
  if (!row) throw new Error(`stock ${sku} changed without being locked first`);
  row.available += change.available ?? 0;
  row.reserved += change.reserved ?? 0;
  unit.changed.add(sku);
  if (newReservation) unit.reservations.push(newReservation);
  await units.saved(tx);
}

/** The unit's changes, one write per table, taken out of the unit. */
function changes(tx: Tx, unit: StockUnit): SQL[] {
  const changed = [...unit.changed].map((sku) => {
    const row = unit.locked.get(sku) as StockRow;
    return { sku, available: row.available, reserved: row.reserved };
  });
  const added = unit.reservations;
  const settled = [...unit.settled].map(([order_id, status]) => ({ order_id, status }));
  unit.changed.clear();
  unit.reservations = [];
  unit.settled.clear();
  const writes: SQL[] = [];
  if (settled.length) {
    // Locked by this transaction and still "reserved" when locked.
    writes.push(sql`
      UPDATE inventory.reservations r SET status = c.status, updated_at = now()
        FROM jsonb_to_recordset(${JSON.stringify(settled)}::jsonb) AS c(order_id uuid, status text)
       WHERE r.order_id = c.order_id AND r.status = 'reserved'`);
  }
  if (changed.length) {
    // The rows are locked by this transaction: their new values are known, not computed by Postgres.
    writes.push(sql`
      UPDATE inventory.stock s SET available = c.available, reserved = c.reserved, updated_at = now()
        FROM jsonb_to_recordset(${JSON.stringify(changed)}::jsonb) AS c(sku text, available int, reserved int)
       WHERE s.sku = c.sku`);
  }
  if (added.length) {
    writes.push(
      tx
        .insert(reservations)
        .values(added.map((r) => ({ ...r, status: "reserved" as const })))
        .getSQL(),
    );
  }
  return writes;
}
