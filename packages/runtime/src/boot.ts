/**
 * What every event-driven service's main.ts does first: a logger, its own
 * database schema migrated, a NATS connection, and a metrics registry. Plain
 * values come back; main.ts wires them into its app explicitly.
 */

import type { NatsConnection } from "@nats-io/transport-node";
import { createPool, isConnectionError, waitForDatabase } from "@orderflow/db";
import { createLogger, type Logger } from "@orderflow/logging";
import { migrateServiceSchema } from "@orderflow/messaging";
import { registerSpanCount } from "@orderflow/observability";
import { connectNats } from "@orderflow/process";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import type pg from "pg";
import { Counter, collectDefaultMetrics, Registry } from "prom-client";

export interface BootOptions {
  service: string;
  /** The service's own schema. */
  schema: string;
  /** Its drizzle migrations folder, e.g. new URL("../drizzle", import.meta.url); the messaging tables' come first. */
  migrations: URL;
}

/** The settings boot reads (every service's config has them). */
export interface BootSettings {
  logLevel: string;
  databaseUrl: string;
  natsUrl: string;
  natsUser: string;
  natsPassword: string;
}

export interface Booted {
  service: string;
  schema: string;
  logger: Logger;
  pool: pg.Pool;
  /**
   * The outbox relay's own two connections (LISTEN + claim). Shared with
   * request and handler work, the relay would queue behind it under overload,
   * and an order accepted then would wait with its event unpublished.
   */
  relayPool: pg.Pool;
  /**
   * The connections of the work a caller waits on (gRPC calls, request-reply
   * queries), apart from the consumers' batches: a bulkhead, so that a caller
   * never queues behind the backlog the consumers are working off (admission
   * control, not a pool's queue, decides how much is accepted). Opened on
   * first use: a service that serves no caller opens none.
   */
  requestPool: pg.Pool;
  /** drizzle over `requestPool`. */
  requestDb: NodePgDatabase;
  db: NodePgDatabase;
  nc: NatsConnection;
  registry: Registry;
}

export async function boot(options: BootOptions, settings: BootSettings): Promise<Booted> {
  const logger = createLogger({ service: options.service, level: settings.logLevel });
  process.on("unhandledRejection", (err) => logger.error({ err }, "unhandled rejection"));
  const onConnectionError = (err: Error) =>
    logger.warn({ err: err.message }, "a database connection was lost; the pool reconnects");
  // Round trips to Postgres of every pool of the service (a statement, or statements pipelined
  // together: BEGIN with a transaction's first, COMMIT with its writes): `pnpm bench` divides them
  // by the completed sagas.
  const registry = new Registry();
  const statements = new Counter({
    name: "db_statements_total",
    help: "Round trips to Postgres: a statement, or statements pipelined together (BEGIN with a transaction's first, COMMIT with its writes)",
    registers: [registry],
  });
  const onStatement = () => statements.inc();
  const pool = createPool({
    url: settings.databaseUrl,
    applicationName: options.service,
    onConnectionError,
    onStatement,
  });
  const relayPool = createPool({
    url: settings.databaseUrl,
    applicationName: `${options.service}-outbox-relay`,
    max: 2,
    onConnectionError,
    onStatement,
  });
  const requestPool = createPool({
    url: settings.databaseUrl,
    applicationName: `${options.service}-requests`,
    max: 4,
    onConnectionError,
    onStatement,
  });
  // Postgres may still be starting or recovering: wait for it (bounded, logged), as for NATS.
  for (let attempt = 1; ; attempt++) {
    await waitForDatabase(pool, {
      onRetry: ({ attempt, err, retryInMs }) =>
        logger.warn({ attempt, err: err.message, retryInMs }, "waiting for the database"),
    });
    try {
      await migrateServiceSchema(pool, options);
      break;
    } catch (err) {
      // The database went away between the wait and the migration: wait again.
      if (!isConnectionError(err) || attempt >= 5) throw err;
      logger.warn({ err: (err as Error).message, attempt }, "migration interrupted by a lost connection; retrying");
    }
  }
  const nc = await connectNats({
    url: settings.natsUrl,
    name: options.service,
    user: settings.natsUser || undefined,
    pass: settings.natsPassword || undefined,
  });
  registry.setDefaultLabels({ service: options.service });
  collectDefaultMetrics({ register: registry });
  registerSpanCount(registry);
  return {
    service: options.service,
    schema: options.schema,
    logger,
    pool,
    relayPool,
    requestPool,
    requestDb: drizzle(requestPool),
    db: drizzle(pool),
    nc,
    registry,
  };
}
