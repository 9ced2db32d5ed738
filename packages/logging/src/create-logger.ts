import { type DestinationStream, type Logger, pino } from "pino";
import { currentCorrelation } from "./correlation.js";

export type { Logger } from "pino";

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Defaults to stdout. */
  destination?: DestinationStream;
}

/**
 * JSON logs on stdout. Every line written inside a correlation context carries
 * `correlationId` (and `causationId` when the work came from a message);
 * the OpenTelemetry pino instrumentation adds `traceId` and `spanId`.
 */
export function createLogger({ service, level = "info", destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin() {
        const context = currentCorrelation();
        if (!context) return {};
        return context.causationId
          ? { correlationId: context.correlationId, causationId: context.causationId }
          : { correlationId: context.correlationId };
      },
    },
    destination,
  );
}
