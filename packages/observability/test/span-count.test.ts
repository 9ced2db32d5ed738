import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import { registerSpanCount } from "../src/index.js";

const KEY = Symbol.for("orderflow.telemetry.spans");
const globals = globalThis as Record<symbol, unknown>;

describe("otel_spans_ended_total", () => {
  it("when telemetry counts spans, then each scrape shows the count so far; with telemetry off, 0", async () => {
    const registry = new Registry();
    registerSpanCount(registry);
    const scrape = async () => /^otel_spans_ended_total (\d+)$/m.exec(await registry.metrics())?.[1];
    try {
      delete globals[KEY];
      assert.equal(await scrape(), "0", "telemetry off: no counter registered by the start file");
      const counts = { ended: 0 };
      globals[KEY] = counts;
      counts.ended = 41;
      assert.equal(await scrape(), "41");
      counts.ended = 45;
      assert.equal(await scrape(), "45", "the count so far, not added twice");
    } finally {
      delete globals[KEY];
    }
  });
});
