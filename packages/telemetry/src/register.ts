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
 * OTEL_SDK_DISABLED=true to switch it off; the SDK's sampler variables
 * (default parentbased_always_on: every trace; e.g. OTEL_TRACES_SAMPLER=
 * parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1 keeps one in ten, and a
 * sampled order stays whole across the services, its context carried in the
 * messages). TRACE_SQL=true adds a span per SQL statement (off by default: one
 * per statement, BEGIN and COMMIT included, was three quarters of a saga's
 * spans and a good share of its CPU). Traces only (metrics are
 * Prometheus', logs are stdout). A missing collector costs nothing
 * but dropped spans: export happens in the background, in batches, and its
 * failures are not the service's failures.
 */
import { register } from "node:module";

// Loaded only when telemetry is on, and only the exporter in use: a service with
// OTEL_SDK_DISABLED=true loads none of OpenTelemetry, and none loads both exporters.
if (process.env.OTEL_SDK_DISABLED !== "true") {
  const [
    { registerInstrumentations },
    { GrpcInstrumentation },
    { HttpInstrumentation },
    { PgInstrumentation },
    { PinoInstrumentation },
    { defaultResource, detectResources, envDetector },
    { BatchSpanProcessor },
    { NodeTracerProvider },
    { createAddHookMessageChannel },
  ] = await Promise.all([
    import("@opentelemetry/instrumentation"),
    import("@opentelemetry/instrumentation-grpc"),
    import("@opentelemetry/instrumentation-http"),
    import("@opentelemetry/instrumentation-pg"),
    import("@opentelemetry/instrumentation-pino"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/sdk-trace-node"),
    import("import-in-the-middle"),
  ]);
  // The loader hook intercepts only the modules an instrumentation hooks (http, gRPC, pg, pino),
  // not every module the service loads: wrapping them all cost ~2 CPU-seconds of
  // every start (import-in-the-middle's "only intercepting hooked modules").
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register("import-in-the-middle/hook.mjs", import.meta.url, registerOptions);
  // Traces only: metrics are Prometheus' (/metrics) and logs go to stdout. So a tracer provider
  // of its own rather than sdk-node's NodeSDK, which also loads (and by default runs) OTLP
  // exporters of metrics and logs (~14 MB more memory per service) and by default runs them on
  // every metric and log line.
  const protocol = process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? process.env.OTEL_EXPORTER_OTLP_PROTOCOL;
  const { OTLPTraceExporter } =
    protocol === "http/json"
      ? await import("@opentelemetry/exporter-trace-otlp-http")
      : await import("@opentelemetry/exporter-trace-otlp-proto");
  const exporter = new OTLPTraceExporter();
  const provider = new NodeTracerProvider({
    resource: defaultResource().merge(detectResources({ detectors: [envDetector] })),
    spanProcessors: [new BatchSpanProcessor(exporter), spanCounter()],
  });
  // The global tracer provider, W3C trace context propagation, AsyncLocalStorage context.
  provider.register();
  registerInstrumentations({
    instrumentations: [
      new HttpInstrumentation({
        // Health probes and scrapes are noise in a trace view.
        ignoreIncomingRequestHook: (req) => /^\/(healthz|readyz|metrics)/.test(req.url ?? ""),
        // url.query is recorded; a token sent in the query string (refused by the gateway) is not.
        redactedQueryParamsServer: ["access_token", "sig", "Signature", "AWSAccessKeyId", "X-Goog-Signature"],
      }),
      new GrpcInstrumentation(),
      // Queries inside a trace, on request only (TRACE_SQL=true); taking a pooled connection is
      // not worth a span either way.
      ...(process.env.TRACE_SQL === "true"
        ? [new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true })]
        : []),
      // Trace ids on every log line; the lines themselves stay on stdout.
      new PinoInstrumentation({
        disableLogSending: true,
        logKeys: { traceId: "traceId", spanId: "spanId", traceFlags: "traceFlags" },
      }),
    ],
  });
  // The loader knows every hooked module before the service's first import.
  await waitForAllMessagesAcknowledged();
  const shutdown = () => provider.shutdown().catch(() => {});
  process.once("beforeExit", shutdown);
  process.once("exit", () => void shutdown());
}

/**
 * Counts the spans this process ends, for its /metrics (otel_spans_ended_total,
 * read by packages/runtime) and `pnpm bench`'s spans per saga. Shared through a
 * global symbol: this file runs before the application and cannot import it.
 */
function spanCounter() {
  const counts = { ended: 0 };
  (globalThis as Record<symbol, unknown>)[Symbol.for("orderflow.telemetry.spans")] = counts;
  return {
    onStart() {},
    onEnd() {
      counts.ended++;
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}
