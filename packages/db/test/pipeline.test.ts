import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTestDatabase, type TestDatabase } from "@orderflow/stack";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import type pg from "pg";
import { beforeCommit, createPool, inOneRoundTrip, isConnectionError, transaction } from "../src/index.js";
import { pipeline } from "../src/pipeline.js";

describe("pipeline: several statements in one round trip (against Postgres)", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let sent = 0;
  before(async () => {
    database = await createTestDatabase();
    pool = createPool({ url: database.url, applicationName: "pipeline-test", max: 2, onStatement: () => sent++ });
    await pool.query("CREATE TABLE piped (n int PRIMARY KEY)");
  });
  after(async () => {
    await pool?.end();
    await database?.drop();
  });
  const rows = async () => (await pool.query("SELECT n FROM piped ORDER BY n")).rows.map((r) => r.n);

  it("when three statements go together, then one round trip and each its own result (values, row mode)", async () => {
    const client = await pool.connect();
    try {
      sent = 0;
      const [inserted, selected, arrays] = await pipeline(client, [
        { text: "INSERT INTO piped VALUES ($1), ($2) RETURNING n", values: [1, 2] },
        { text: "SELECT count(*)::int AS c FROM piped WHERE n > $1", values: [0] },
        { text: "SELECT 'a' AS x, 'b' AS y", rowMode: "array" },
      ]);
      assert.equal(sent, 1);
      assert.deepEqual(
        inserted?.rows.map((r) => r.n),
        [1, 2],
      );
      assert.equal(inserted?.rowCount, 2);
      assert.deepEqual(selected?.rows, [{ c: 2 }], "the second sees what the first wrote");
      assert.deepEqual(arrays?.rows, [["a", "b"]]);
    } finally {
      client.release();
    }
  });

  it("when a statement fails, then the pipeline fails with its error, the ones after it do not run, and the connection goes on", async () => {
    const client = await pool.connect();
    try {
      await assert.rejects(
        pipeline(client, [
          { text: "INSERT INTO piped VALUES (10)" },
          { text: "INSERT INTO piped VALUES ($1)", values: ["not a number"] },
          { text: "INSERT INTO piped VALUES (11)" },
        ]),
        /invalid input syntax for type integer/,
      );
      // Without BEGIN, one Sync is one implicit transaction: the first insert went with the failure.
      assert.deepEqual(await rows(), [1, 2]);
      assert.deepEqual((await client.query("SELECT 1 AS ok")).rows, [{ ok: 1 }]);
    } finally {
      client.release();
    }
  });

  it("when the first statement of a transaction fails, then nothing is applied and the error is the statement's", async () => {
    const db = drizzle(pool);
    await assert.rejects(
      transaction(db, async (tx) => {
        await tx.execute(sql`INSERT INTO piped VALUES (${"x"})`);
      }),
      (err: Error) => /invalid input syntax/.test(`${err.message} ${(err.cause as Error)?.message}`),
    );
    await assert.rejects(
      transaction(db, async (tx) => {
        await tx.execute(sql`INSERT INTO piped VALUES (20)`);
        beforeCommit(tx, "dup", () => [sql`INSERT INTO piped VALUES (20)`]); // the writes fail with COMMIT behind them
      }),
    );
    assert.deepEqual(await rows(), [1, 2], "neither transaction left anything");
    await transaction(db, async (tx) => {
      await tx.execute(sql`INSERT INTO piped VALUES (21)`);
      beforeCommit(tx, "more", () => [sql`INSERT INTO piped VALUES (22)`]);
    });
    assert.deepEqual(await rows(), [1, 2, 21, 22]);
  });

  it("when the connection dies inside a pipeline, then every statement fails as a connection error", async () => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await assert.rejects(
        pipeline(client, [{ text: "SELECT pg_terminate_backend(pg_backend_pid())" }, { text: "SELECT 1" }]),
        (err: unknown) => {
          broken = err as Error;
          return isConnectionError(err);
        },
      );
    } finally {
      client.release(broken);
    }
    assert.deepEqual((await pool.query("SELECT 2 AS n")).rows, [{ n: 2 }], "the pool goes on with a new connection");
  });
  it("when steps run in one round trip, then their statements go with BEGIN together; a step that sends none is not waited for", async () => {
    const db = drizzle(pool);
    sent = 0;
    const [a, b] = await transaction(db, (tx) =>
      inOneRoundTrip(tx, [
        async () => (await tx.execute(sql`INSERT INTO piped VALUES (30) RETURNING n`)).rows[0]?.n,
        async () => (await tx.execute(sql`SELECT count(*)::int AS c FROM piped WHERE n >= 30`)).rows[0]?.c,
      ] as const),
    );
    assert.deepEqual([a, b], [30, 1], "each step its own result; the second saw the first's insert");
    assert.equal(sent, 2, "BEGIN with both statements; COMMIT");
    sent = 0;
    const [c, none] = await transaction(db, (tx) =>
      inOneRoundTrip(tx, [
        async () => (await tx.execute(sql`SELECT 7::int AS n`)).rows[0]?.n,
        async () => "no statement",
      ] as const),
    );
    assert.deepEqual([c, none], [7, "no statement"]);
    assert.equal(sent, 2);
    await assert.rejects(
      transaction(db, (tx) =>
        inOneRoundTrip(tx, [
          () => tx.execute(sql`INSERT INTO piped VALUES (31)`),
          () => tx.execute(sql`INSERT INTO piped VALUES (${"x"})`),
        ] as const),
      ),
    );
    assert.deepEqual(
      (await pool.query("SELECT n FROM piped WHERE n >= 30 ORDER BY n")).rows.map((r) => r.n),
      [30],
      "the failed transaction left nothing",
    );
  });
});
