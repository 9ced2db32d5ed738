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

interface StockUnit {
  /** Every stock row locked in this transaction, as it is now (changes applied). */
  locked: Map<string, StockRow>;
  changed: Set<string>;
  reservations: NewReservation[];
}

const units = unitOfWork<StockUnit>(
  () => ({ locked: new Map(), changed: new Set(), reservations: [] }),
  (tx, unit) => changes(tx, unit),
);

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
  unit.changed.clear();
  unit.reservations = [];
  const writes: SQL[] = [];
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
