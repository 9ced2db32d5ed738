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
 * OTEL_SDK_DISABLED=true to switch it off. Traces only by default:
 * OTEL_METRICS_EXPORTER and OTEL_LOGS_EXPORTER default to none here. A missing collector costs nothing
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
  // Traces only, unless asked: metrics are Prometheus' (/metrics) and logs go to stdout. The SDK's
  // defaults would also export every metric and every log line over OTLP (to nowhere, without a
  // collector), at a cost paid on every request and every log line.
  process.env.OTEL_METRICS_EXPORTER ??= "none";
  process.env.OTEL_LOGS_EXPORTER ??= "none";
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
      // Trace ids on every log line; the lines themselves stay on stdout.
      new PinoInstrumentation({
        disableLogSending: true,
        logKeys: { traceId: "traceId", spanId: "spanId", traceFlags: "traceFlags" },
      }),
    ],
  });
  sdk.start();
  const shutdown = () => sdk.shutdown().catch(() => {});
  process.once("beforeExit", shutdown);
  process.once("exit", () => void shutdown());
}
