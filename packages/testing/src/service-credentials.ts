/**
 * The development credentials of infra/nats/users.conf and
 * infra/postgres/roles.sql, for the processes this repository starts itself
 * (the e2e harness and `pnpm start`). docker-compose.yml carries the same.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { REPO_ROOT } from "./start-service.js";

export const NATS_USERS_CONF = join(REPO_ROOT, "infra", "nats", "users.conf");
export const ROLES_SQL = join(REPO_ROOT, "infra", "postgres", "roles.sql");

export const NATS_USERS = {
  order: { user: "order", password: "order-dev-password" },
  inventory: { user: "inventory", password: "inventory-dev-password" },
  payment: { user: "payment", password: "payment-dev-password" },
  notification: { user: "notification", password: "notification-dev-password" },
  gateway: { user: "gateway", password: "gateway-dev-password" },
  operator: { user: "operator", password: "operator-dev-password" },
} as const;

export const PG_ROLES = {
  order: { role: "order_svc", password: "order-dev-password" },
  inventory: { role: "inventory_svc", password: "inventory-dev-password" },
  payment: { role: "payment_svc", password: "payment-dev-password" },
  notification: { role: "notification_svc", password: "notification-dev-password" },
} as const;

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
