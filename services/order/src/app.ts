/** buildApp: the order service's servers, wired but not listening (main.ts listens). */
import * as grpc from "@grpc/grpc-js";
import { addGrpcService, OrderService } from "@orderflow/contracts";
import type { Logger } from "@orderflow/logging";
import { buildOpsServer } from "@orderflow/observability";
import { sql } from "drizzle-orm";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import type { FastifyInstance } from "fastify";
import type { OrderConfig } from "./config.js";
import { orderServiceHandlers } from "./grpc-server.js";
import type { OrderMetrics } from "./metrics.js";

export interface OrderAppDeps {
  db: NodePgDatabase;
  logger: Logger;
  metrics: OrderMetrics;
  config: Pick<OrderConfig, "stalledAfterMs" | "faults">;
}

export interface OrderApp {
  grpcServer: grpc.Server;
  opsServer: FastifyInstance;
}

export function buildApp(deps: OrderAppDeps): OrderApp {
  const grpcServer = new grpc.Server();
  addGrpcService(grpcServer, OrderService, orderServiceHandlers(deps));
  const opsServer = buildOpsServer({
    logger: deps.logger,
    registry: deps.metrics.registry,
    readinessChecks: { postgres: () => deps.db.execute(sql`SELECT 1`) },
  });
  return { grpcServer, opsServer };
}
