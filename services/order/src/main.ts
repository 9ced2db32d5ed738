/** Composition root: config -> logger -> database -> servers; SIGTERM drains. */

import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { createPool, migrateSchema } from "@orderflow/db";
import { createLogger } from "@orderflow/logging";
import { drizzle } from "drizzle-orm/node-postgres";
import { buildApp } from "./app.js";
import { loadConfig } from "./config.js";
import { createOrderMetrics } from "./metrics.js";

const config = loadConfig();
const logger = createLogger({ service: "order", level: config.logLevel });
const pool = createPool({ url: config.databaseUrl, applicationName: "order" });
await migrateSchema(pool, {
  schema: "orders",
  migrationsFolder: fileURLToPath(new URL("../drizzle", import.meta.url)),
});
const db = drizzle(pool);
const metrics = createOrderMetrics();
const { grpcServer, opsServer } = buildApp({ db, logger, metrics, config });

const grpcPort = await new Promise<number>((resolve, reject) =>
  grpcServer.bindAsync(`${config.grpcHost}:${config.grpcPort}`, grpc.ServerCredentials.createInsecure(), (err, port) =>
    err ? reject(err) : resolve(port),
  ),
);
await opsServer.listen({ host: "0.0.0.0", port: config.httpPort });
logger.info({ grpcPort, httpPort: config.httpPort, faults: config.faults }, "order service started");

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "shutting down: finishing in-flight calls");
  // tryShutdown lets in-flight calls finish and refuses new ones; force it after a grace period.
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      grpcServer.forceShutdown();
      resolve();
    }, 10_000);
    grpcServer.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
  await opsServer.close();
  await pool.end();
  logger.info("stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
