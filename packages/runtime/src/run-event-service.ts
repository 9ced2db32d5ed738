/**
 * The part every event-driven service's main.ts shares: start its consumers
 * and outbox relay, serve /healthz, /readyz (Postgres and NATS) and /metrics,
 * and stop in order on SIGTERM: first the service's own intake (`stopIntake`,
 * e.g. the gRPC server), then the consumers (in-flight handlers finish), then
 * the relay, NATS (drained), the ops server and the pool. Retention prunes the
 * messaging tables (and the service's own, `retainedTables`) in the background.
 */

import type { RetainedTable, Subscription } from "@orderflow/messaging";
import { messagingRetention, startEventProcessing, startRetention } from "@orderflow/messaging";
import { buildOpsServer, type OpsServer } from "@orderflow/observability";
import { onShutdown, type ShutdownStep } from "@orderflow/process";
import { sql } from "drizzle-orm";
import type { Booted } from "./boot.js";

export interface EventServiceOptions {
  subscriptions: Subscription[];
  config: {
    httpPort: number;
    ackWaitMs: number;
    maxDeliver: number;
    maxAckPending: number;
    concurrency: number;
    batchSize: number;
    outboxPollMs: number;
    outboxBatchSize: number;
    streamMaxAgeHours: number;
    streamReplicas: number;
    inboxRetentionHours: number;
    consumerFailureRetentionHours: number;
    outboxRetentionHours: number;
    retentionIntervalMs: number;
    retentionBatchSize: number;
  };
  /** The service's own tables that only grow, pruned with the messaging tables. */
  retainedTables?: RetainedTable[];
  unsafe?: { inboxOutsideTransaction?: boolean; disableInProgressAcks?: boolean; disableTelemetry?: boolean };
  /** The service's own ops server, when it has more to show; otherwise one is built. */
  ops?: OpsServer;
  /** Steps that stop the service's own intake, run before the consumers stop. */
  stopIntake?: ShutdownStep[];
  /** Steps that stop the service's own background work, run after the consumers stop and before the relay does (its events still go out). */
  stopAfterConsumers?: ShutdownStep[];
  /** Logged with the start-up line (ports, active fault switches). */
  startInfo?: Record<string, unknown>;
}

/**
 * What an event-driven service's buildApp(deps) returns: its subscriptions, the
 * unsafe toggles its fault switches turn on, and what it serves besides.
 * main.ts passes it to runEventService with the config.
 */
export type EventApp = Pick<
  EventServiceOptions,
  "subscriptions" | "unsafe" | "ops" | "stopIntake" | "stopAfterConsumers"
>;

export async function runEventService(booted: Booted, options: EventServiceOptions) {
  const { service, schema, logger, pool, relayPool, requestPool, db, nc, registry } = booted;
  const events = await startEventProcessing({
    service,
    nc,
    pool,
    relayPool,
    db,
    logger,
    registry,
    schema,
    subscriptions: options.subscriptions,
    consumer: options.config,
    outboxPollMs: options.config.outboxPollMs,
    outboxBatchSize: options.config.outboxBatchSize,
    streamMaxAgeMs: options.config.streamMaxAgeHours * 60 * 60 * 1000,
    streamReplicas: options.config.streamReplicas,
    unsafe: options.unsafe,
  });
  const hours = (h: number) => h * 3_600_000;
  const retention = startRetention({
    pool,
    logger,
    registry,
    intervalMs: options.config.retentionIntervalMs,
    batchSize: options.config.retentionBatchSize,
    tables: [
      ...messagingRetention(schema, {
        inboxMs: hours(options.config.inboxRetentionHours),
        consumerFailuresMs: hours(options.config.consumerFailureRetentionHours),
        outboxMs: hours(options.config.outboxRetentionHours),
      }),
      ...(options.retainedTables ?? []),
    ],
  });
  const ops =
    options.ops ??
    buildOpsServer({
      logger,
      registry,
      readinessChecks: { postgres: () => db.execute(sql`SELECT 1`), nats: () => nc.flush() },
    });
  await ops.listen({ host: "0.0.0.0", port: options.config.httpPort });
  logger.info({ httpPort: options.config.httpPort, ...options.startInfo }, `${service} service started`);

  onShutdown(logger, [
    ...(options.stopIntake ?? []),
    [
      "stop consumers and relay",
      () =>
        events.stop(async () => {
          for (const [name, run] of options.stopAfterConsumers ?? []) {
            logger.info(`shutdown: ${name}`);
            await run();
          }
        }),
    ],
    ["stop retention", () => retention.stop()],
    ["drain NATS", () => nc.drain()],
    ["close ops server", () => ops.close()],
    ["close database pools", () => Promise.all([pool.end(), relayPool.end(), requestPool.end()])],
  ]);
}
