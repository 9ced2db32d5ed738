import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { type ComponentDatabase, componentDatabase } from "@orderflow/stack";
import { migrateMessagingTables } from "../src/index.js";

const MIGRATIONS = (
  JSON.parse(readFileSync(new URL("../drizzle/meta/_journal.json", import.meta.url), "utf8")) as { entries: unknown[] }
).entries.length;

/** The messaging tables' own migrations, applied into a service's schema. */
describe("messaging tables (against Postgres)", () => {
  let t: ComponentDatabase;
  before(async () => {
    t = await componentDatabase("messaging-tables", (pool) => migrateMessagingTables(pool, "svc_a"));
  });
  after(() => t?.close());

  it("when applied to a schema, then the outbox, inbox and failure counts are there, and only there", async () => {
    const tables = await t.rows(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'svc_a' AND table_name NOT LIKE '\\_\\_%' ORDER BY 1",
    );
    assert.deepEqual(
      tables.map((r) => r.table_name),
      ["consumer_failures", "inbox", "outbox"],
    );
    assert.equal(await t.count("information_schema.tables", "table_schema = 'public'"), 0);
    const [createdAt] = await t.rows(
      "SELECT column_default FROM information_schema.columns WHERE table_schema = 'svc_a' AND table_name = 'outbox' AND column_name = 'created_at'",
    );
    assert.equal(createdAt?.column_default, "clock_timestamp()", "an outbox row is dated when written (0001)");
  });

  it("when applied to a second schema, then each schema has its own tables and journal", async () => {
    await migrateMessagingTables(t.pool, "svc_b");
    assert.equal(await t.count("information_schema.tables", "table_schema = 'svc_b' AND table_name = 'outbox'"), 1);
    assert.equal(await t.count("svc_b.__messaging_migrations"), MIGRATIONS);
  });

  it("when a database made before these migrations existed is migrated, then its tables and rows are kept", async () => {
    // Such a database has the tables (from the service's own migrations) but no messaging journal.
    await t.rows("INSERT INTO svc_a.inbox (event_id, consumer, subject) VALUES ('e-1', 'c', 's')");
    await t.rows("DROP TABLE svc_a.__messaging_migrations");
    await migrateMessagingTables(t.pool, "svc_a");
    assert.equal(await t.count("svc_a.inbox", "event_id = 'e-1'"), 1);
    assert.equal(await t.count("svc_a.__messaging_migrations"), MIGRATIONS);
  });
});
