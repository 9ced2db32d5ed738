import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { backoffDelayMs, exponentialBackoff } from "../src/index.js";

describe("backoff", () => {
  it("when attempts grow, then the delay doubles from the base up to the cap", () => {
    const delay = exponentialBackoff({ baseMs: 250, maxMs: 2000 });
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(delay), [250, 500, 1000, 2000, 2000, 2000]);
  });
  it("when the jitter is full, then the delay is random between 0 and the same ceiling", () => {
    const policy = { baseMs: 100, maxMs: 1000, jitter: "full" as const };
    assert.equal(
      backoffDelayMs(3, policy, () => 0),
      0,
    );
    assert.equal(
      backoffDelayMs(3, policy, () => 0.5),
      200,
    );
    assert.equal(
      backoffDelayMs(9, policy, () => 0.999),
      999,
    );
  });
});
