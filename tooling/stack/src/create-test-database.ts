/**
 * A fresh database on the Postgres server that DATABASE_URL names (by default
 * the local one), so a test run never sees another's rows. Dropped on `drop()`.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const DEFAULT_TEST_SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(
  serverUrl = process.env.DATABASE_URL || DEFAULT_TEST_SERVER_URL,
): Promise<TestDatabase> {
  const name = `orderflow_test_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        // A pool that was just ended has told the server goodbye, but its backends may still be
        // exiting (slowly, on a loaded machine): give them up to 5 s, so that FORCE does not hit a
        // client mid-close with "terminating connection due to administrator command" (an
        // uncaught error in the test that closed it). FORCE then ends whatever is really left.
        const deadline = Date.now() + 5000;
        while (Date.now() < deadline) {
          const { rows } = await client.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1", [
            name,
          ]);
          if (rows[0].n === 0) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
