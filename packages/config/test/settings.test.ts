import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, parse, readFaultSwitches, readSettings } from "../src/index.js";

const shape = {
  port: { env: "PORT", description: "HTTP port", default: 8080, parse: parse.integer(1, 65535) },
  databaseUrl: { env: "DATABASE_URL", description: "Postgres URL", parse: parse.url },
};

describe("readSettings", () => {
  it("when a variable is unset, then its default is used", () => {
    assert.deepEqual(readSettings(shape, { DATABASE_URL: "postgres://x/y" }), {
      port: 8080,
      databaseUrl: "postgres://x/y",
    });
  });

  it("when values are bad or missing, then one error names every variable", () => {
    assert.throws(
      () => readSettings(shape, { PORT: "80a" }),
      (err: Error) =>
        err instanceof ConfigError &&
        /PORT="80a": expected a whole number/.test(err.message) &&
        /DATABASE_URL is required/.test(err.message),
    );
    assert.throws(() => readSettings(shape, { PORT: "70000", DATABASE_URL: "x" }), /expected a number from 1 to 65535/);
  });
});

describe("readFaultSwitches", () => {
  it("when nothing is set, then every switch is off", () => {
    assert.deepEqual(readFaultSwitches("order", {}), {});
  });

  it("when a switch is set, then only its own service reads it", () => {
    const env = { FAULT_ORDER_SLOW_ACK_MS: "2500", UNSAFE_ORDER_IGNORE_IDEMPOTENCY_KEY: "true" };
    assert.deepEqual(readFaultSwitches("order", env), {
      FAULT_ORDER_SLOW_ACK_MS: 2500,
      UNSAFE_ORDER_IGNORE_IDEMPOTENCY_KEY: true,
    });
    assert.deepEqual(readFaultSwitches("gateway", env), {});
  });

  it("when NODE_ENV is production, then any switch refuses the start", () => {
    assert.throws(
      () => readFaultSwitches("gateway", { NODE_ENV: "production", UNSAFE_ORDER_IGNORE_IDEMPOTENCY_KEY: "1" }),
      /refusing to start in production.*UNSAFE_ORDER_IGNORE_IDEMPOTENCY_KEY/,
    );
  });

  it("when a value does not parse, then the error names the switch", () => {
    assert.throws(() => readFaultSwitches("order", { FAULT_ORDER_SLOW_ACK_MS: "soon" }), /FAULT_ORDER_SLOW_ACK_MS/);
  });
});
