/** Composition root: config -> boot (logger, database, NATS) -> gRPC server, consumers, relay, ops; SIGTERM drains. */

import * as grpc from "@grpc/grpc-js";
import { startVerifier } from "@orderflow/auth";
import { boot, runEventService } from "@orderflow/runtime";
import { sql } from "drizzle-orm";
import { startAdmission } from "./admission.js";
import { buildApp, ORDER } from "./app.js";
import { loadConfig } from "./config.js";
import { createOrderMetrics } from "./metrics.js";

const config = loadConfig();
const booted = await boot(ORDER, config);
// gRPC calls run on their own connections (requestDb), apart from the consumers' batches (db).
const { requestDb, requestPool, logger, nc, registry, pool } = booted;
const metrics = createOrderMetrics(registry, pool, config.stalledAfterMs, {
  waitingStatus: !config.faults.UNSAFE_ORDER_NO_WAITING_STATUS,
});
const admission = startAdmission({
  pool: requestPool,
  logger,
  maxPending: config.admissionMaxPending,
  refreshMs: config.admissionRefreshMs,
});
const verifier = startVerifier(config.verifier, (fields, msg) => logger.warn(fields, msg));
const app = buildApp({
  admission,
  verifier,
  db: requestDb,
  logger,
  metrics,
  config,
  readinessChecks: { nats: () => nc.flush() },
});

const grpcPort = await new Promise<number>((resolve, reject) =>
  app.grpcServer.bindAsync(
    `${config.grpcHost}:${config.grpcPort}`,
    grpc.ServerCredentials.createInsecure(),
    (err, port) => (err ? reject(err) : resolve(port)),
  ),
);
await runEventService(booted, {
  ...app,
  config,
  retainedTables: [
    {
      table: "orders.idempotency_keys",
      timeColumn: "created_at",
      windowMs: config.idempotencyKeyRetentionHours * 3_600_000,
    },
  ],
  startInfo: { grpcPort, admissionMaxPending: config.admissionMaxPending, faults: config.faults },
});
app.health.set("SERVING");
app.health.watchDependency(() => requestDb.execute(sql`SELECT 1`));
