import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createPool, isConnectionError, waitForDatabase } from "../src/index.js";

describe("isConnectionError", () => {
  it("when the database is away (refused, reset, terminated, shutting down, starting up), then it is an outage", () => {
    const outages = [
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
      Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }),
      new Error("Connection terminated unexpectedly"),
      Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }),
      Object.assign(new Error("the database system is starting up"), { code: "57P03" }),
      Object.assign(new Error("connection failure"), { code: "08006" }),
      // drizzle wraps the driver's error
      new Error("Failed query: select 1", { cause: new Error("Connection terminated") }),
    ];
    for (const err of outages) assert.equal(isConnectionError(err), true, err.message);
  });

  it("when the work is wrong (a constraint, a syntax error, a plain bug), then it is not an outage", () => {
    const bugs = [
      Object.assign(new Error("duplicate key value violates unique constraint"), { code: "23505" }),
      Object.assign(new Error('syntax error at or near "SELEC"'), { code: "42601" }),
      new TypeError("cannot read properties of undefined"),
      "a string",
      undefined,
    ];
    for (const err of bugs) assert.equal(isConnectionError(err), false, String(err));
  });

  it("when nothing listens on the database port, then the real driver's error is an outage", async () => {
    const pool = createPool({ url: "postgres://postgres@127.0.0.1:1/postgres", applicationName: "test" });
    try {
      await assert.rejects(pool.query("SELECT 1"), (err: unknown) => isConnectionError(err));
    } finally {
      await pool.end();
    }
  });
});

describe("waitForDatabase", () => {
  it("when the database never answers, then it gives up after its budget with the last error, having said each retry", async () => {
    const pool = createPool({ url: "postgres://postgres@127.0.0.1:1/postgres", applicationName: "test" });
    const retries: number[] = [];
    try {
      await assert.rejects(
        waitForDatabase(pool, { timeoutMs: 700, onRetry: ({ attempt }) => retries.push(attempt) }),
        /database unreachable after \d+ attempts: .*ECONNREFUSED/,
      );
      assert.ok(retries.length >= 2, `${retries.length} retries reported`);
    } finally {
      await pool.end();
    }
  });
});
