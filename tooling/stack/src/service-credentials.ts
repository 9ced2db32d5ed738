/**
 * The development credentials of infra/nats/users.conf and
 * infra/postgres/roles.sql, for the processes this repository starts itself
 * (the e2e harness and `pnpm start`). docker-compose.yml carries the same.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CONSOLE, type DatabaseServiceName, devPassword, type ServiceName, SYSTEM } from "@orderflow/system";
import pg from "pg";
import { REPO_ROOT } from "./start-service.js";

export const NATS_USERS_CONF = join(REPO_ROOT, "infra", "nats", "users.conf");
export const ROLES_SQL = join(REPO_ROOT, "infra", "postgres", "roles.sql");

/** Each service's NATS user (the console's, and the operator's, for the dlq and replay commands): from the catalogue. */
export const NATS_USERS = Object.fromEntries(
  [...SYSTEM.map((s) => s.name), CONSOLE.name, "operator"].map((name) => [
    name,
    { user: name, password: devPassword(name) },
  ]),
) as Record<ServiceName | "console" | "operator", { user: string; password: string }>;

/** Each schema-owning service's Postgres role: from the catalogue. */
export const PG_ROLES = Object.fromEntries(
  SYSTEM.flatMap((s) =>
    "database" in s ? [[s.name, { role: s.database.role, password: devPassword(s.name) }] as const] : [],
  ),
) as Record<DatabaseServiceName, { role: string; password: string }>;

/** Creates the service roles and their schemas in the database `superuserUrl` names. */
export async function applyRoles(superuserUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: superuserUrl });
  await client.connect();
  try {
    await client.query(readFileSync(ROLES_SQL, "utf8"));
  } finally {
    await client.end();
  }
}

/** The same database URL, as the service's own role. */
export function urlAsRole(url: string, service: keyof typeof PG_ROLES): string {
  const u = new URL(url);
  u.username = PG_ROLES[service].role;
  u.password = PG_ROLES[service].password;
  return u.toString();
}
