/**
 * Graceful shutdown: on SIGTERM or SIGINT, run the steps in order (stop intake,
 * let in-flight work finish, drain NATS, close pools), each bounded in time,
 * then exit. A second signal exits at once.
 */
import { trace } from "@opentelemetry/api";
import type { Logger } from "@orderflow/logging";

/**
 * Exports the spans still batched, so the last moments of a process are in its
 * trace; bounded, because a missing collector must not hold a shutdown up.
 */
async function flushTraces(timeoutMs = 1000): Promise<void> {
  const provider = trace.getTracerProvider() as { getDelegate?: () => { forceFlush?: () => Promise<void> } };
  const flushed = provider.getDelegate?.().forceFlush?.();
  if (!flushed) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([flushed.catch(() => {}), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
  clearTimeout(timer);
}

export type ShutdownStep = [name: string, run: () => Promise<unknown> | unknown];

export function onShutdown(logger: Logger, steps: ShutdownStep[], { stepTimeoutMs = 15_000 } = {}): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    for (const [name, run] of steps) {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(run),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${stepTimeoutMs} ms`)), stepTimeoutMs);
          }),
        ]);
        logger.info({ step: name, ms: Date.now() - started }, "shutdown step done");
      } catch (err) {
        logger.warn({ step: name, err: (err as Error).message }, "shutdown step failed");
      } finally {
        clearTimeout(timer);
      }
    }
    await flushTraces();
    logger.info("stopped");
    // The last lines reach stdout before the process ends (pino writes asynchronously).
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      logger.flush(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}
