/**
 * Retention against Postgres: rows past their window go in batches, recent ones
 * stay, and a table that lost a fifth of its rows (at least 1000) is vacuumed so
 * that the space is reused even with autovacuum off.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createLogger } from "@orderflow/logging";
import { createTestDatabase, type TestDatabase } from "@orderflow/stack";
import pg from "pg";
import { messagingRetention, migrateMessagingTables, startRetention } from "../src/index.js";

describe("retention (against Postgres)", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  before(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url });
    await pool.query("CREATE SCHEMA rettest");
    await migrateMessagingTables(pool, "rettest");
  });
  after(async () => {
    await pool?.end();
    await database?.drop();
  });

  it("when inbox rows pass their window, then they are pruned in batches, the recent ones stay, and the table is vacuumed", async () => {
    await pool.query(
      `INSERT INTO rettest.inbox (event_id, consumer, subject, processed_at)
       SELECT 'old-' || i, 'c', 's', now() - interval '2 hours' FROM generate_series(1, 3000) i
       UNION ALL SELECT 'new-' || i, 'c', 's', now() FROM generate_series(1, 500) i`,
    );
    const vacuums = async () =>
      Number(
        (
          await pool.query(
            "SELECT vacuum_count FROM pg_stat_user_tables WHERE schemaname = 'rettest' AND relname = 'inbox'",
          )
        ).rows[0]?.vacuum_count ?? 0,
      );
    const before = await vacuums();
    const retention = startRetention({
      pool,
      logger: createLogger({ service: "retention-test", level: "silent" }),
      tables: messagingRetention("rettest", { inboxMs: 3_600_000, consumerFailuresMs: 3_600_000, outboxMs: 3_600_000 }),
      intervalMs: 60_000,
      batchSize: 400,
    });
    try {
      const counts = await retention.runOnce();
      assert.equal(counts["rettest.inbox"], 3000);
      const left = await pool.query(
        "SELECT count(*)::int AS n, count(*) FILTER (WHERE event_id LIKE 'new-%')::int AS recent FROM rettest.inbox",
      );
      assert.deepEqual(left.rows[0], { n: 500, recent: 500 });
      // The statistics collector reports the VACUUM a moment later.
      const deadline = Date.now() + 10_000;
      while ((await vacuums()) <= before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      assert.ok((await vacuums()) > before, "the pruned table was vacuumed");
    } finally {
      await retention.stop();
    }
  });
});
