/**
 * pnpm measure:ids [--rows N]: what the id's kind does to the indexes that hold
 * it. The inbox's primary key (event_id, consumer) and the outbox's (id), filled
 * with N rows in batches of 500 (as consumers and relays write them), once with
 * random UUIDv4 ids and once with time-ordered UUIDv7 (packages/db's newId), on
 * this machine's Postgres: index size and insert time, printed as a table.
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { newId } from "@orderflow/db";
import { createTestDatabase } from "@orderflow/stack";
import pg from "pg";

const { values } = parseArgs({ options: { rows: { type: "string", default: "200000" } } });
const rows = Number(values.rows);
const database = await createTestDatabase();
const pool = new pg.Pool({ connectionString: database.url, max: 1 });
try {
  const results: string[] = [];
  for (const [kind, id] of [
    ["v4 (random)", () => randomUUID()],
    ["v7 (time-ordered)", newId],
  ] as const) {
    await pool.query("DROP TABLE IF EXISTS inbox_m, outbox_m");
    await pool.query(
      "CREATE TABLE inbox_m (event_id text NOT NULL, consumer text NOT NULL, processed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (event_id, consumer))",
    );
    await pool.query("CREATE TABLE outbox_m (id uuid PRIMARY KEY, payload bytea NOT NULL)");
    const started = performance.now();
    for (let done = 0; done < rows; done += 500) {
      const ids = Array.from({ length: Math.min(500, rows - done) }, id);
      await pool.query("INSERT INTO inbox_m (event_id, consumer) SELECT unnest($1::text[]), 'inventory-order-placed'", [
        ids,
      ]);
      await pool.query("INSERT INTO outbox_m (id, payload) SELECT unnest($1::uuid[]), '\\x0a24'::bytea", [ids]);
    }
    const ms = performance.now() - started;
    const size = async (index: string) =>
      Number((await pool.query("SELECT pg_relation_size($1) AS b", [index])).rows[0].b) / 1024 / 1024;
    results.push(
      `| ${kind} | ${(await size("inbox_m_pkey")).toFixed(1)} MB | ${(await size("outbox_m_pkey")).toFixed(1)} MB | ${((rows * 2) / (ms / 1000)).toFixed(0)} rows/s |`,
    );
  }
  console.log(
    `\n${rows} rows each\n| ids | inbox primary key | outbox primary key | inserts |\n| --- | --- | --- | --- |\n${results.join("\n")}\n`,
  );
} finally {
  await pool.end();
  await database.drop();
}
