import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { backoffMs, callWithRetry, type RetryPolicy, worstCaseMs } from "../src/call-with-retry.js";

const policy: RetryPolicy = { maxAttempts: 3, attemptTimeoutMs: 50, baseBackoffMs: 10, maxBackoffMs: 15 };
const status = (code: grpc.status) =>
  Object.assign(new Error(grpc.status[code]), { code, details: "", metadata: new grpc.Metadata() });

describe("callWithRetry", () => {
  it("when attempts fail with UNAVAILABLE or DEADLINE_EXCEEDED, then it retries until one succeeds", async () => {
    const codes = [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED];
    const seen: number[] = [];
    const result = await callWithRetry(async (attempt) => {
      seen.push(attempt.number);
      assert.ok(attempt.deadline.getTime() > Date.now(), "each attempt gets a fresh deadline");
      const code = codes.shift();
      if (code !== undefined) throw status(code);
      return "ok";
    }, policy);
    assert.equal(result, "ok");
    assert.deepEqual(seen, [1, 2, 3]);
  });

  it("when every attempt times out, then it stops after maxAttempts with the last error", async () => {
    let calls = 0;
    await assert.rejects(
      callWithRetry(async () => {
        calls++;
        throw status(grpc.status.DEADLINE_EXCEEDED);
      }, policy),
      { code: grpc.status.DEADLINE_EXCEEDED },
    );
    assert.equal(calls, 3);
  });

  for (const code of [
    grpc.status.INVALID_ARGUMENT,
    grpc.status.ALREADY_EXISTS,
    grpc.status.NOT_FOUND,
    grpc.status.INTERNAL,
  ]) {
    it(`when an attempt fails with ${grpc.status[code]}, then it is an answer and is not retried`, async () => {
      let calls = 0;
      await assert.rejects(
        callWithRetry(async () => {
          calls++;
          throw status(code);
        }, policy),
        { code },
      );
      assert.equal(calls, 1);
    });
  }
});

describe("backoffMs", () => {
  it("when the attempt number grows, then the ceiling doubles up to maxBackoffMs, and jitter spans [0, ceiling)", () => {
    const p = { ...policy, baseBackoffMs: 100, maxBackoffMs: 1000 };
    assert.equal(
      backoffMs(1, p, () => 0.999),
      99,
    );
    assert.equal(
      backoffMs(3, p, () => 0.5),
      200,
    );
    assert.equal(
      backoffMs(10, p, () => 0.999),
      999,
    );
    assert.equal(
      backoffMs(2, p, () => 0),
      0,
    );
  });

  it("when asked for the worst case, then it adds every deadline and the largest backoffs", () => {
    assert.equal(worstCaseMs({ maxAttempts: 3, attemptTimeoutMs: 1000, baseBackoffMs: 100, maxBackoffMs: 1000 }), 3300);
  });
});
