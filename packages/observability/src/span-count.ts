import { Counter, type Registry } from "prom-client";

/**
 * otel_spans_ended_total: the spans this process ended, as counted by
 * @orderflow/telemetry/register (which runs before the application and shares
 * the count through a global symbol); 0 with telemetry off. `pnpm bench`
 * divides it by the completed sagas.
 */
export function registerSpanCount(registry: Registry): void {
  new Counter({
    name: "otel_spans_ended_total",
    help: "Spans this process ended (0 with telemetry off)",
    registers: [registry],
    collect() {
      const counts = (globalThis as Record<symbol, { ended: number } | undefined>)[
        Symbol.for("orderflow.telemetry.spans")
      ];
      this.reset();
      this.inc(counts?.ended ?? 0);
    },
  });
}
