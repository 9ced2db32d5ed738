/** buildApp: the order service's servers, wired but not listening (main.ts listens). */
import * as grpc from "@grpc/grpc-js";
import { addGrpcService, OrderService } from "@orderflow/contracts";
import type { Logger } from "@orderflow/logging";
import type { Subscription } from "@orderflow/messaging";
import { buildOpsServer, type OpsServer } from "@orderflow/observability";
import { sql } from "drizzle-orm";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import type { OrderConfig } from "./config.js";
import { addHealthAndReflection, type GrpcHealth } from "./grpc-health-and-reflection.js";
import { orderServiceHandlers } from "./grpc-server.js";
import { onNotificationSent } from "./handlers/notification-sent.js";
import { onPaymentFailed } from "./handlers/payment-failed.js";
import { onPaymentSucceeded } from "./handlers/payment-succeeded.js";
import { onStockRejected } from "./handlers/stock-rejected.js";
import { onStockReserved } from "./handlers/stock-reserved.js";
import type { OrderMetrics } from "./metrics.js";

export interface OrderAppDeps {
  db: NodePgDatabase;
  logger: Logger;
  metrics: OrderMetrics;
  config: Pick<OrderConfig, "stalledAfterMs" | "faults">;
  /** Readiness checks besides Postgres (NATS). */
  readinessChecks?: Record<string, () => Promise<unknown>>;
}

/** The events the order service consumes: the results that move an order on (order-saga.ts). */
export function orderSubscriptions(faults: OrderConfig["faults"]): Subscription[] {
  return [onStockReserved(faults), onStockRejected, onPaymentSucceeded, onPaymentFailed, onNotificationSent];
}

export interface OrderApp {
  grpcServer: grpc.Server;
  /** grpc.health.v1.Health: NOT_SERVING until main.ts says the service runs. */
  health: GrpcHealth;
  opsServer: OpsServer;
}

export function buildApp(deps: OrderAppDeps): OrderApp {
  const grpcServer = new grpc.Server();
  addGrpcService(grpcServer, OrderService, orderServiceHandlers(deps));
  const health = addHealthAndReflection(grpcServer);
  const opsServer = buildOpsServer({
    logger: deps.logger,
    registry: deps.metrics.registry,
    readinessChecks: { postgres: () => deps.db.execute(sql`SELECT 1`), ...deps.readinessChecks },
  });
  return { grpcServer, health, opsServer };
}
