/** buildApp: the gateway's HTTP API, wired but not listening (main.ts listens; tests use inject). */

import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import { trace } from "@opentelemetry/api";
import type { Verifier } from "@orderflow/auth";
import { CORRELATION_METADATA_KEY } from "@orderflow/contracts";
import { acceptCorrelationId, type Logger, withCorrelation } from "@orderflow/logging";
import { readiness } from "@orderflow/observability";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import { collectDefaultMetrics, Registry } from "prom-client";
import { authenticate } from "./authenticate.js";
import type { InventoryClient } from "./inventory-client.js";
import type { OrderClient } from "./order-client.js";
import { errorHandler, sendProblem } from "./problem.js";
import { inventoryRoutes } from "./routes/inventory.js";
import { orderRoutes } from "./routes/orders.js";

export interface GatewayDeps {
  logger: Logger;
  orders: OrderClient;
  inventory: InventoryClient;
  /** Verifies the bearer token of every /api/v1 request (packages/auth). */
  verifier: Verifier;
  bodyLimitBytes: number;
  /** PlaceOrder calls waiting on the order service at most (routes/orders.ts); unbounded when absent. */
  maxInFlightPlacements?: number;
  /** Requests per caller (the token's subject) and window on /api routes; unlimited when absent. */
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

  // The HTTP server span (OpenTelemetry's http instrumentation, active here) named by the
  // route, as the semantic conventions name it: "POST /api/v1/orders", with http.route. One span
  // per request: @fastify/otel's request and handler spans under it were two more, for nothing
  // a trace view needs (docs/measurements.md).
  app.addHook("onRequest", (request, _reply, done) => {
    const route = request.routeOptions.url;
    const span = route ? trace.getActiveSpan() : undefined;
    if (span) {
      span.setAttribute("http.route", route as string);
      span.updateName(`${request.method} ${route}`);
    }
    done();
  });

  // The edge of the correlation context: taken from the caller or minted, echoed
  // on every response, and active for everything this request does.
  app.addHook("onRequest", (request, reply, done) => {
    const correlationId = acceptCorrelationId(request.headers[CORRELATION_METADATA_KEY]);
    reply.header("X-Correlation-ID", correlationId);
    withCorrelation({ correlationId }, done);
  });

  app.addHook("onResponse", (request, reply, done) => {
    request.log.info(
      {
        method: request.method,
        url: withoutTokens(request.url),
        statusCode: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      "request completed",
    );
    done();
  });

  // The HTTP API's reference, generated from the routes' own schemas (OpenAPI 3.1): GET /openapi.json.
  app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "orderflow gateway",
        version: "1.0.0",
        description:
          "The public HTTP API of orderflow. Every /api/v1 call needs a bearer token (RFC 6750); the customer is the token's subject. Errors are application/problem+json (RFC 9457). The gRPC API's reference is proto/orderflow/order/v1/order_service.proto.",
      },
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      },
    },
    hideUntagged: false,
  });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  app.setErrorHandler(errorHandler(deps.logger));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, {
      type: "/problems/not-found",
      title: "Not found",
      status: 404,
      detail: `no route for ${request.method} ${request.url.split("?")[0]}`,
    }),
  );

  // In a plugin of their own, so that they load after @fastify/swagger and appear in /openapi.json.
  app.register(async (root) => {
    const ops = (summary: string) => ({ schema: { summary, tags: ["operations"], security: [] } });
    root.get("/healthz", ops("Liveness: the process answers"), async () => ({ status: "ok" }));
    root.get(
      "/readyz",
      ops("Readiness: the order service reachable, NATS connected (503 otherwise)"),
      async (_req, reply) => {
        const { ready, body } = await readiness(deps.readinessChecks ?? {});
        return reply.code(ready ? 200 : 503).send(body);
      },
    );
    root.get("/metrics", ops("Prometheus metrics"), async (_req, reply) =>
      reply.type(registry.contentType).send(await registry.metrics()),
    );
  });
  // The API: a bearer token first (authenticate.ts), then a rate limit per
  // caller (429 problem+json with Retry-After); health, readiness and metrics
  // stay outside both.
  app.register(async (api) => {
    api.addHook("onRequest", authenticate(deps.verifier));
    if (deps.rateLimit) {
      await api.register(rateLimit, {
        max: deps.rateLimit.max,
        timeWindow: deps.rateLimit.windowMs,
        // Counted per caller: callers behind one address (a NAT, a proxy) do not share a limit.
        keyGenerator: (request) => (request.caller ? `${request.caller.issuer} ${request.caller.subject}` : request.ip),
      });
    }
    orderRoutes(api, deps.orders, { maxInFlightPlacements: deps.maxInFlightPlacements });
    inventoryRoutes(api, deps.inventory);
  });
  return app;
}

/** A URL fit for a log line: a token sent in the query string (refused anyway) is not written down. */
function withoutTokens(url: string): string {
  return url.replace(/([?&]access_token=)[^&]*/g, "$1[redacted]");
}
