/**
 * A unit of work: state kept per transaction (the rows it locked, the changes
 * made to them in memory) and written by `changes` just before COMMIT, with
 * the transaction's other deferred writes in one statement (`beforeCommit`).
 * In a transaction that does not defer (not one of `transaction()`: a drizzle
 * transaction, a test), `saved()` writes the changes at once instead, by the
 * same statements.
 */
import type { SQL } from "drizzle-orm";
import { beforeCommit, type Tx } from "./transaction.js";

export interface UnitOfWork<U> {
  /** The transaction's unit, created on first use. */
  of(tx: Tx): U;
  /** Call after changing the unit: writes the changes at once when the transaction does not defer them. */
  saved(tx: Tx): Promise<void>;
}

/**
 * `create` makes a transaction's empty unit; `changes` takes the writes out of
 * it (one statement per table, and clears what it took).
 */
export function unitOfWork<U>(create: () => U, changes: (tx: Tx, unit: U) => SQL[]): UnitOfWork<U> {
  const units = new WeakMap<Tx, { unit: U; deferred: boolean }>();
  const entry = (tx: Tx) => {
    let found = units.get(tx);
    if (!found) {
      const unit = create();
      found = { unit, deferred: beforeCommit(tx, units, () => changes(tx, unit)) };
      units.set(tx, found);
    }
    return found;
  };
  return {
    of: (tx) => entry(tx).unit,
    async saved(tx) {
      const { unit, deferred } = entry(tx);
      if (!deferred) for (const write of changes(tx, unit)) await tx.execute(write);
    },
  };
}
