/** Composition root: config -> boot (logger, database, NATS) -> gRPC server, consumers, relay, ops; SIGTERM drains. */

import * as grpc from "@grpc/grpc-js";
import { boot, runEventService } from "@orderflow/runtime";
import { sql } from "drizzle-orm";
import { buildApp, orderSubscriptions } from "./app.js";
import { loadConfig } from "./config.js";
import { consumerFailures, inbox } from "./db/schema.js";
import { createOrderMetrics } from "./metrics.js";

const config = loadConfig();
const booted = await boot(
  { service: "order", schema: "orders", migrations: new URL("../drizzle", import.meta.url) },
  config,
);
const { db, logger, nc, registry, pool } = booted;
const metrics = createOrderMetrics(registry, pool, config.stalledAfterMs, {
  waitingStatus: !config.faults.UNSAFE_ORDER_NO_WAITING_STATUS,
});
const { grpcServer, health, opsServer } = buildApp({
  db,
  logger,
  metrics,
  config,
  readinessChecks: { nats: () => nc.flush() },
});

const grpcPort = await new Promise<number>((resolve, reject) =>
  grpcServer.bindAsync(`${config.grpcHost}:${config.grpcPort}`, grpc.ServerCredentials.createInsecure(), (err, port) =>
    err ? reject(err) : resolve(port),
  ),
);
await runEventService(booted, {
  inbox,
  failures: consumerFailures,
  subscriptions: orderSubscriptions(config.faults),
  config,
  ops: opsServer,
  // tryShutdown refuses new calls and lets in-flight ones finish.
  stopIntake: [
    ["gRPC health: NOT_SERVING", () => health.stop()],
    ["stop gRPC intake", () => new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()))],
  ],
  startInfo: { grpcPort, faults: config.faults },
});
health.set("SERVING");
health.watchDependency(() => db.execute(sql`SELECT 1`));
