/** buildApp: the gateway's HTTP API, wired but not listening (main.ts listens; tests use inject). */

import rateLimit from "@fastify/rate-limit";
import { CORRELATION_METADATA_KEY } from "@orderflow/contracts";
import { acceptCorrelationId, type Logger, withCorrelation } from "@orderflow/logging";
import { readiness } from "@orderflow/observability";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { InventoryClient } from "./inventory-client.js";
import type { OrderClient } from "./order-client.js";
import { errorHandler, sendProblem } from "./problem.js";
import { inventoryRoutes } from "./routes/inventory.js";
import { orderRoutes } from "./routes/orders.js";

export interface GatewayDeps {
  logger: Logger;
  orders: OrderClient;
  inventory: InventoryClient;
  bodyLimitBytes: number;
  /** PlaceOrder calls waiting on the order service at most (routes/orders.ts); unbounded when absent. */
  maxInFlightPlacements?: number;
  /** Requests per client and window on /api routes; unlimited when absent. */
  rateLimit?: { max: number; windowMs: number };
  registry?: Registry;
  /** What /readyz checks (the order service reachable, NATS connected); none: always ready. */
  readinessChecks?: Record<string, () => Promise<unknown>>;
}

export function buildApp(deps: GatewayDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.bodyLimitBytes,
    // Fastify's own request lines are written before the correlation context
    // exists; the onResponse hook below writes one line per request inside it.
    logController: new LogController({ disableRequestLogging: true }),
    // Strict validation: no type coercion, no silently dropped fields, every problem reported.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true } },
  }) as unknown as FastifyInstance;
  // The API speaks JSON only: anything else is 415, not a string that fails validation later.
  app.removeContentTypeParser("text/plain");
  const registry = deps.registry ?? new Registry();
  if (!deps.registry) collectDefaultMetrics({ register: registry });

  // The edge of the correlation context: taken from the caller or minted, echoed
  // on every response, and active for everything this request does.
  app.addHook("onRequest", (request, reply, done) => {
    const correlationId = acceptCorrelationId(request.headers[CORRELATION_METADATA_KEY]);
    reply.header("X-Correlation-ID", correlationId);
    withCorrelation({ correlationId }, done);
  });

  app.addHook("onResponse", (request, reply, done) => {
    request.log.info(
      { method: request.method, url: request.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      "request completed",
    );
    done();
  });

  app.setErrorHandler(errorHandler(deps.logger));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, {
      type: "/problems/not-found",
      title: "Not found",
      status: 404,
      detail: `no route for ${request.method} ${request.url.split("?")[0]}`,
    }),
  );

  const unlimited = { config: { rateLimit: false } };
  app.get("/healthz", unlimited, async () => ({ status: "ok" }));
  app.get("/readyz", unlimited, async (_req, reply) => {
    const { ready, body } = await readiness(deps.readinessChecks ?? {});
    return reply.code(ready ? 200 : 503).send(body);
  });
  app.get("/metrics", unlimited, async (_req, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
  // The API behind a per-client rate limit (429 problem+json with Retry-After);
  // health, readiness and metrics stay outside it.
  if (deps.rateLimit) {
    app.register(rateLimit, { max: deps.rateLimit.max, timeWindow: deps.rateLimit.windowMs });
  }
  app.register(async (api) => {
    orderRoutes(api, deps.orders, { maxInFlightPlacements: deps.maxInFlightPlacements });
    inventoryRoutes(api, deps.inventory);
  });
  return app;
}
