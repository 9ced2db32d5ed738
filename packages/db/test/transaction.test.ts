import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTestDatabase, type TestDatabase } from "@orderflow/stack";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import { afterCommit, beforeCommit, createPool, isConnectionError, transaction } from "../src/index.js";

describe("transaction (against Postgres)", () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase();
  });
  after(async () => database?.drop());

  it("when work registers flushes before COMMIT, then they run once per key, in order, inside the transaction; one that fails rolls it back", async () => {
    const pool = createPool({ url: database.url, applicationName: "flush-test", max: 2 });
    const db = drizzle(pool);
    try {
      await pool.query("CREATE TABLE IF NOT EXISTS flushed (n int)");
      const ran: string[] = [];
      await transaction(db, async (tx) => {
        assert.equal(
          beforeCommit(tx, "a", async () => {
            ran.push("a");
            await tx.execute(sql`INSERT INTO flushed VALUES (1)`);
            // A flush may register another: it runs too, before COMMIT.
            beforeCommit(tx, "c", async () => {
              ran.push("c");
            });
          }),
          true,
        );
        beforeCommit(tx, "b", async () => {
          ran.push("b");
        });
        beforeCommit(tx, "a", async () => {
          ran.push("a again");
        });
        assert.deepEqual(ran, [], "nothing runs before the work ends");
      });
      assert.deepEqual(ran, ["a", "b", "c"]);
      assert.equal((await pool.query("SELECT count(*)::int AS n FROM flushed")).rows[0].n, 1);

      await assert.rejects(
        transaction(db, async (tx) => {
          await tx.execute(sql`INSERT INTO flushed VALUES (2)`);
          beforeCommit(tx, "failing", async () => {
            throw new Error("the flush failed");
          });
        }),
        /the flush failed/,
      );
      assert.equal((await pool.query("SELECT count(*)::int AS n FROM flushed")).rows[0].n, 1, "rolled back");
      // Not a transaction of transaction(): the caller must write at once.
      await db.transaction(async (tx) =>
        assert.equal(
          beforeCommit(tx, "x", async () => {}),
          false,
        ),
      );
    } finally {
      await pool.end();
    }
  });

  it("when a pool counts statements, then every one sent is counted, BEGIN and COMMIT included", async () => {
    let sent = 0;
    const pool = createPool({ url: database.url, applicationName: "count-test", max: 2, onStatement: () => sent++ });
    const db = drizzle(pool);
    try {
      await transaction(db, async (tx) => {
        await tx.execute(sql`SELECT 1`);
        await tx.execute(sql`SELECT 2`);
      });
      assert.equal(sent, 4, "BEGIN, two statements, COMMIT");
      await pool.query("SELECT 3");
      assert.equal(sent, 5);
    } finally {
      await pool.end();
    }
  });

  it("when the connection dies inside a transaction, then it is not returned to the pool, and the next transactions run", async () => {
    // One connection in all: a leaked or broken one would leave nothing to run on.
    const pool = createPool({ url: database.url, applicationName: "tx-test", max: 1, connectionTimeoutMs: 3000 });
    const db = drizzle(pool);
    try {
      await assert.rejects(
        transaction(db, (tx) => tx.execute(sql`SELECT pg_terminate_backend(pg_backend_pid())`)),
        (err: unknown) => isConnectionError(err),
      );
      for (let i = 0; i < 3; i++) {
        const value = await transaction(db, async (tx) => (await tx.execute(sql`SELECT ${i}::int AS n`)).rows[0]?.n);
        assert.equal(value, i);
      }
    } finally {
      await pool.end();
    }
  });

  it("when the work throws, then the transaction rolls back and the error is the work's", async () => {
    const pool = createPool({ url: database.url, applicationName: "tx-test", max: 1 });
    const db = drizzle(pool);
    try {
      await pool.query("CREATE TABLE t (n int)");
      await assert.rejects(
        transaction(db, async (tx) => {
          await tx.execute(sql`INSERT INTO t VALUES (1)`);
          throw new Error("bug");
        }),
        /bug/,
      );
      assert.equal((await pool.query("SELECT count(*)::int AS n FROM t")).rows[0].n, 0);
    } finally {
      await pool.end();
    }
  });

  it("when work registers an after-commit hook, then it runs after COMMIT only: not on rollback, and not for a transaction of another kind", async () => {
    const pool = createPool({ url: database.url, applicationName: "tx-test", max: 2 });
    const db = drizzle(pool);
    const ran: string[] = [];
    try {
      await pool.query("CREATE TABLE hooks (n int)");
      await transaction(db, async (tx) => {
        await tx.execute(sql`INSERT INTO hooks VALUES (1)`);
        assert.equal(
          afterCommit(tx, async () =>
            ran.push(
              `committed, rows seen by another connection: ${(await pool.query("SELECT count(*)::int AS n FROM hooks")).rows[0].n}`,
            ),
          ),
          true,
        );
        assert.deepEqual(ran, [], "not before the commit");
      });
      await assert.rejects(
        transaction(db, async (tx) => {
          afterCommit(tx, () => ran.push("rolled back"));
          throw new Error("bug");
        }),
      );
      assert.equal(
        await db.transaction(async (tx) => afterCommit(tx, () => ran.push("drizzle"))),
        false,
        "drizzle's own transaction has no hooks: the caller must use another way",
      );
      assert.equal(
        await transaction(db, async (tx) => {
          afterCommit(tx, () => {
            throw new Error("a hook's bug");
          });
          return "committed";
        }),
        "committed",
        "a hook that throws does not turn a committed transaction into a failure",
      );
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(ran, ["committed, rows seen by another connection: 1"]);
    } finally {
      await pool.end();
    }
  });
});
