/** buildApp: the order service's servers and subscriptions, wired but not listening (main.ts listens). */
import * as grpc from "@grpc/grpc-js";
import type { Verifier } from "@orderflow/auth";
import { addGrpcService, OrderService } from "@orderflow/contracts";
import type { Logger } from "@orderflow/logging";
import { buildOpsServer, type OpsServer } from "@orderflow/observability";
import type { BootOptions, EventApp } from "@orderflow/runtime";
import { sql } from "drizzle-orm";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import type { Admission } from "./admission.js";
import type { OrderConfig } from "./config.js";
import { addHealthAndReflection, type GrpcHealth } from "./grpc-health-and-reflection.js";
import { orderServiceHandlers } from "./grpc-server.js";
import type { OrderMetrics } from "./metrics.js";
import { orderSubscriptions } from "./subscriptions.js";

export interface OrderAppDeps {
  db: NodePgDatabase;
  logger: Logger;
  metrics: OrderMetrics;
  config: Pick<OrderConfig, "stalledAfterMs" | "faults">;
  /** Readiness checks besides Postgres (NATS). */
  readinessChecks?: Record<string, () => Promise<unknown>>;
  /** Admission control (admission.ts): refuses new orders while the system is behind. */
  admission?: Admission;
  /** Verifies the bearer token every gRPC call carries. */
  verifier: Verifier;
}

export const ORDER = {
  service: "order",
  schema: "orders",
  migrations: new URL("../drizzle", import.meta.url),
} satisfies BootOptions;

export interface OrderApp extends EventApp {
  grpcServer: grpc.Server;
  /** grpc.health.v1.Health: NOT_SERVING until main.ts says the service runs. */
  health: GrpcHealth;
  ops: OpsServer;
}

export function buildApp(deps: OrderAppDeps): OrderApp {
  const grpcServer = new grpc.Server();
  addGrpcService(grpcServer, OrderService, orderServiceHandlers(deps));
  const health = addHealthAndReflection(grpcServer);
  const ops = buildOpsServer({
    logger: deps.logger,
    registry: deps.metrics.registry,
    readinessChecks: { postgres: () => deps.db.execute(sql`SELECT 1`), ...deps.readinessChecks },
  });
  return {
    grpcServer,
    health,
    ops,
    subscriptions: orderSubscriptions(deps.config.faults),
    // tryShutdown refuses new calls and lets in-flight ones finish.
    stopIntake: [
      ["gRPC health: NOT_SERVING", () => health.stop()],
      ["stop gRPC intake", () => new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()))],
      ["stop admission control", async () => deps.admission?.stop()],
    ],
  };
}
