import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTestDatabase, type TestDatabase } from "@orderflow/testing";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import { createPool, isConnectionError, transaction } from "../src/index.js";

describe("transaction (against Postgres)", () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase();
  });
  after(async () => database?.drop());

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
});
