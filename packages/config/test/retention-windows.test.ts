import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, eventServiceSettings, loadServiceConfig } from "../src/index.js";

/** What a service reads at start: the retention windows are refused when a duplicate could slip through. */
describe("retention windows (checked at start)", () => {
  const env = (extra: Record<string, string>) => ({ DATABASE_URL: "postgres://x@localhost/db", ...extra });
  const load = (extra: Record<string, string>) =>
    loadServiceConfig("payment", eventServiceSettings("payment"), env(extra));

  it("when the defaults are used, then they hold (the inbox outlives the stream)", () => {
    const c = load({});
    assert.ok(c.inboxRetentionHours > c.streamMaxAgeHours);
  });

  it("when the inbox forgets before the stream does, then the service refuses to start, naming both", () => {
    assert.throws(
      () => load({ STREAM_MAX_AGE_HOURS: "168", INBOX_RETENTION_HOURS: "100" }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /INBOX_RETENTION_HOURS=100 must be longer than STREAM_MAX_AGE_HOURS=168/.test(err.message),
    );
  });

  it("when failure counts are forgotten before a message stops being redelivered, then it refuses too", () => {
    assert.throws(
      () => load({ CONSUMER_ACK_WAIT_MS: "600000", CONSUMER_MAX_DELIVER: "10", CONSUMER_FAILURE_RETENTION_HOURS: "1" }),
      /CONSUMER_FAILURE_RETENTION_HOURS=1 must be longer than a message can be redelivered/,
    );
  });

  it("when short windows are asked for (a test, a soak), then fractions of an hour are taken, the rule still held", () => {
    const c = load({
      STREAM_MAX_AGE_HOURS: "0.005",
      INBOX_RETENTION_HOURS: "0.01",
      CONSUMER_FAILURE_RETENTION_HOURS: "0.5",
    });
    assert.deepEqual([c.streamMaxAgeHours, c.inboxRetentionHours], [0.005, 0.01]);
    assert.throws(() => load({ INBOX_RETENTION_HOURS: "abc" }), /INBOX_RETENTION_HOURS="abc": expected a number/);
  });
});
