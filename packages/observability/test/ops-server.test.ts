import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger } from "@orderflow/logging";
import { Registry } from "prom-client";
import { buildOpsServer } from "../src/index.js";

const logger = createLogger({ service: "ops-test", level: "silent" });

describe("ops server", () => {
  it("when every readiness check passes, then /readyz is 200 and names them", async () => {
    const app = buildOpsServer({ logger, registry: new Registry(), readinessChecks: { postgres: async () => 1 } });
    const res = await app.inject({ method: "GET", url: "/readyz" });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: "ready", checks: { postgres: "ok" } });
  });

  it("when a check fails or hangs, then /readyz is 503 with each reason, while /healthz stays 200", async () => {
    const app = buildOpsServer({
      logger,
      registry: new Registry(),
      readinessChecks: {
        postgres: async () => {
          throw new Error("connection refused");
        },
        nats: () => new Promise(() => {}),
        fine: async () => true,
      },
    });
    const res = await app.inject({ method: "GET", url: "/readyz" });
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json().checks, {
      postgres: "connection refused",
      nats: "timed out after 2000 ms",
      fine: "ok",
    });
    assert.equal((await app.inject({ method: "GET", url: "/healthz" })).statusCode, 200);
  });
});
