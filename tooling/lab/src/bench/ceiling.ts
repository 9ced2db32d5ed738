/**
 * Stage 1, the ceiling: pgbench on the same Postgres server with the
 * placement's core transaction (insert an order, insert an outbox row), and
 * the same with pg_notify (a NOTIFY serializes commits cluster-wide). Every
 * figure of the bench is a ratio to this one, measured in the same run.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase } from "@orderflow/stack";
import pg from "pg";

export interface Ceiling {
  orderOutboxTps: number;
  withNotifyTps: number;
  clients: number;
}

function pgbenchBinary(): string {
  const found = spawnSync("sh", ["-c", "command -v pgbench"], { encoding: "utf8" }).stdout.trim();
  if (!found) throw new Error("pgbench not found: apt-get install postgresql-client (or postgresql)");
  return found;
}

export async function measureCeiling(serverUrl: string, seconds: number): Promise<Ceiling> {
  const db = await createTestDatabase(serverUrl);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(`
    CREATE TABLE bench_orders (id uuid PRIMARY KEY, customer_id text NOT NULL, status text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE bench_outbox (id uuid PRIMARY KEY, subject text NOT NULL, payload bytea NOT NULL,
      headers jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz);`);
  await client.end();
  const base = `\\set id random(1, 1000000000)
BEGIN;
INSERT INTO bench_orders (id, customer_id, status) VALUES (gen_random_uuid(), 'c-' || :id, 'PENDING');
INSERT INTO bench_outbox (id, subject, payload, headers) VALUES (gen_random_uuid(), 'orders.order.placed', '\\x0a24'::bytea, '{"eventType":"x"}');
`;
  const dir = tmpdir();
  const plain = join(dir, `bench-plain-${process.pid}.sql`);
  const notify = join(dir, `bench-notify-${process.pid}.sql`);
  writeFileSync(plain, `${base}COMMIT;\n`);
  writeFileSync(notify, `${base}SELECT pg_notify('outbox_bench', '');\nCOMMIT;\n`);
  const url = new URL(db.url);
  const run = (file: string) => {
    const out = execFileSync(
      pgbenchBinary(),
      ["-n", "-c", "8", "-j", "2", "-T", String(Math.max(5, Math.round(seconds / 2))), "-f", file, db.url],
      { encoding: "utf8", env: { ...process.env, PGHOST: url.hostname, PGPORT: url.port } },
    );
    return Number(out.match(/tps = ([\d.]+)/)?.[1] ?? Number.NaN);
  };
  try {
    return { orderOutboxTps: run(plain), withNotifyTps: run(notify), clients: 8 };
  } finally {
    await db.drop();
  }
}
