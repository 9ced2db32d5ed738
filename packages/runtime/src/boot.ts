/**
 * What every service's main.ts does first: a logger, its own database schema
 * migrated, a NATS connection, and a metrics registry. Plain values come back;
 * main.ts wires them into its app explicitly.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { createPool, migrateSchema } from "@orderflow/db";
import { createLogger, type Logger } from "@orderflow/logging";
import { connectNats } from "@orderflow/messaging";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import type pg from "pg";
import { collectDefaultMetrics, Registry } from "prom-client";

export interface BootOptions {
  service: string;
  logLevel: string;
  databaseUrl: string;
  /** The service's schema, and its drizzle migrations folder. */
  schema: string;
  migrationsFolder: string;
  nats?: { url: string; user?: string; password?: string };
}

export interface Booted {
  logger: Logger;
  pool: pg.Pool;
  db: NodePgDatabase;
  nc: NatsConnection | undefined;
  registry: Registry;
}

export async function boot(options: BootOptions): Promise<Booted> {
  const logger = createLogger({ service: options.service, level: options.logLevel });
  process.on("unhandledRejection", (err) => logger.error({ err }, "unhandled rejection"));
  const pool = createPool({ url: options.databaseUrl, applicationName: options.service });
  await migrateSchema(pool, { schema: options.schema, migrationsFolder: options.migrationsFolder });
  const nc = options.nats
    ? await connectNats({
        url: options.nats.url,
        name: options.service,
        user: options.nats.user,
        pass: options.nats.password,
      })
    : undefined;
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  collectDefaultMetrics({ register: registry });
  return { logger, pool, db: drizzle(pool), nc, registry };
}
