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

  it("when work registers flushes before COMMIT, then they are asked once per key, in order, and their writes go as one statement; a failing write rolls it back", async () => {
    let statements = 0;
    const pool = createPool({
      url: database.url,
      applicationName: "flush-test",
      max: 2,
      onStatement: () => statements++,
    });
    const db = drizzle(pool);
    try {
      await pool.query("CREATE TABLE IF NOT EXISTS flushed_a (n int); CREATE TABLE IF NOT EXISTS flushed_b (n int)");
      const asked: string[] = [];
      statements = 0;
      await transaction(db, async (tx) => {
        assert.equal(
          beforeCommit(tx, "a", () => {
            asked.push("a");
            // A flush may register another: it is asked too, before COMMIT.
            beforeCommit(tx, "c", () => {
              asked.push("c");
              return [sql`INSERT INTO flushed_b VALUES (3)`];
            });
            return [sql`INSERT INTO flushed_a VALUES (1)`];
          }),
          true,
        );
        beforeCommit(tx, "b", async () => {
          asked.push("b");
          return [sql`INSERT INTO flushed_b VALUES (2)`];
        });
        beforeCommit(tx, "a", () => {
          asked.push("a again");
          return undefined;
        });
        assert.deepEqual(asked, [], "nothing is asked before the work ends");
      });
      assert.deepEqual(asked, ["a", "b", "c"]);
      assert.equal(statements, 1, "BEGIN, the three writes as one statement and COMMIT, in one round trip");
      const rows = async (table: string) =>
        (await pool.query(`SELECT n FROM ${table} ORDER BY n`)).rows.map((r) => r.n);
      assert.deepEqual(await rows("flushed_a"), [1]);
      assert.deepEqual(await rows("flushed_b"), [2, 3]);

      await assert.rejects(
        transaction(db, async (tx) => {
          await tx.execute(sql`INSERT INTO flushed_a VALUES (4)`);
          beforeCommit(tx, "failing", () => [sql`INSERT INTO flushed_b VALUES ('not a number')`]);
        }),
      );
      assert.deepEqual(await rows("flushed_a"), [1], "rolled back");
      // Not a transaction of transaction(): the caller must write at once.
      await db.transaction(async (tx) =>
        assert.equal(
          beforeCommit(tx, "x", () => undefined),
          false,
        ),
      );
    } finally {
      await pool.end();
    }
  });

  it("when a pool counts statements, then every round trip is counted: BEGIN goes with the first statement, COMMIT with the writes", async () => {
    let sent = 0;
    const pool = createPool({ url: database.url, applicationName: "count-test", max: 2, onStatement: () => sent++ });
    const db = drizzle(pool);
    try {
      await pool.query("CREATE TABLE IF NOT EXISTS counted (n int)");
      sent = 0;
      const values = await transaction(db, async (tx) => {
        const one = (await tx.execute(sql`SELECT 1::int AS n`)).rows[0]?.n;
        const two = (await tx.execute(sql`SELECT 2::int AS n`)).rows[0]?.n;
        return [one, two];
      });
      assert.deepEqual(values, [1, 2], "each statement's own result, the first's too");
      assert.equal(sent, 3, "BEGIN with the first statement, the second, COMMIT");
      sent = 0;
      await transaction(db, async (tx) => {
        await tx.execute(sql`SELECT 1`);
        beforeCommit(tx, "w", () => [sql`INSERT INTO counted VALUES (1)`]);
      });
      assert.equal(sent, 2, "BEGIN with the statement, the writes with COMMIT");
      sent = 0;
      await transaction(db, async () => {});
      assert.equal(sent, 0, "a transaction that sends nothing costs nothing");
      await pool.query("SELECT 3");
      assert.equal(sent, 1);
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
