/**
 * OpenTelemetry, started before the application: `node --import
 * @orderflow/telemetry/register src/main.ts`. Under ESM the instrumentations
 * can only patch modules loaded after their loader hook is registered, so this
 * file must run first (without it, pg and http spans appear but gRPC spans and
 * the trace ids in pino lines do not).
 *
 * Configured by the standard variables: OTEL_SERVICE_NAME,
 * OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT), OTEL_EXPORTER_OTLP_PROTOCOL
 * (http/protobuf by default, http/json), OTEL_BSP_SCHEDULE_DELAY,
 * OTEL_SDK_DISABLED=true to switch it off. A missing collector costs nothing
 * but dropped spans: export happens in the background, in batches, and its
 * failures are not the service's failures.
 */
import { register } from "node:module";
import { FastifyOtelInstrumentation } from "@fastify/otel";
import { GrpcInstrumentation } from "@opentelemetry/instrumentation-grpc";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";
import { PinoInstrumentation } from "@opentelemetry/instrumentation-pino";
import { NodeSDK } from "@opentelemetry/sdk-node";

if (process.env.OTEL_SDK_DISABLED !== "true") {
  register("@opentelemetry/instrumentation/hook.mjs", import.meta.url);
  const sdk = new NodeSDK({
    instrumentations: [
      new HttpInstrumentation({
        // Health probes and scrapes are noise in a trace view.
        ignoreIncomingRequestHook: (req) => /^\/(healthz|readyz|metrics)/.test(req.url ?? ""),
      }),
      // The request and its handler, not a span per lifecycle hook (rate limit, correlation, ...).
      new FastifyOtelInstrumentation({ registerOnInitialization: true, instrumentHooks: false }),
      new GrpcInstrumentation(),
      // Queries inside a trace; taking a pooled connection is not worth a span each time.
      new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
      new PinoInstrumentation({ logKeys: { traceId: "traceId", spanId: "spanId", traceFlags: "traceFlags" } }),
    ],
  });
  sdk.start();
  const shutdown = () => sdk.shutdown().catch(() => {});
  process.once("beforeExit", shutdown);
  process.once("exit", () => void shutdown());
}
