/** buildApp: the inventory service's subscriptions and ops server, wired but not started. */

import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "@orderflow/logging";
import type { Subscription } from "@orderflow/messaging";
import { buildOpsServer, type OpsServer } from "@orderflow/observability";
import { sql } from "drizzle-orm";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import type { Registry } from "prom-client";
import type { InventoryConfig } from "./config.js";
import { onOrderCancelled } from "./handlers/order-cancelled.js";
import { onOrderConfirmed } from "./handlers/order-confirmed.js";
import { onOrderPlaced } from "./handlers/order-placed.js";

export function inventorySubscriptions(faults: InventoryConfig["faults"]): Subscription[] {
  return [onOrderPlaced(faults), onOrderCancelled, onOrderConfirmed];
}

export function buildOps(deps: {
  logger: Logger;
  registry: Registry;
  db: NodePgDatabase;
  nc: NatsConnection;
}): OpsServer {
  return buildOpsServer({
    logger: deps.logger,
    registry: deps.registry,
    readinessChecks: {
      postgres: () => deps.db.execute(sql`SELECT 1`),
      nats: () => deps.nc.flush(),
    },
  });
}
