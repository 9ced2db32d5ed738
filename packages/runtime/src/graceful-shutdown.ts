/**
 * Graceful shutdown: on SIGTERM or SIGINT, run the steps in order (stop intake,
 * let in-flight work finish, drain NATS, close pools), each bounded in time,
 * then exit. A second signal exits at once.
 */
import type { Logger } from "@orderflow/logging";

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
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}
