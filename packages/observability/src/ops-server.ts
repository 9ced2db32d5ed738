/**
 * The operations endpoints every service exposes on its HTTP port:
 * - GET /healthz: the process is alive (no dependency checks: a restart would not fix them).
 * - GET /readyz: the service can do its work now (its checks pass); 503 otherwise.
 * - GET /metrics: Prometheus text format.
 */
import type { Logger } from "@orderflow/logging";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { Registry } from "prom-client";

export interface OpsServerOptions {
  logger: Logger;
  registry: Registry;
  /** Each check resolves when healthy and throws with a reason otherwise. */
  readinessChecks: Record<string, () => Promise<unknown>>;
}

export type OpsServer = FastifyInstance;

export function buildOpsServer({ logger, registry, readinessChecks }: OpsServerOptions): OpsServer {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    const { ready, body } = await readiness(readinessChecks);
    return reply.code(ready ? 200 : 503).send(body);
  });
  app.get("/metrics", async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  return app;
}

/** Runs every check (2 s each at most): ready when all pass; the body names each check's result. */
export async function readiness(checks: Record<string, () => Promise<unknown>>) {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await withTimeout(check(), 2000);
        return [name, "ok"] as const;
      } catch (err) {
        return [name, (err as Error).message || "failed"] as const;
      }
    }),
  );
  const ready = results.every(([, r]) => r === "ok");
  return { ready, body: { status: ready ? "ready" : "not ready", checks: Object.fromEntries(results) } };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
