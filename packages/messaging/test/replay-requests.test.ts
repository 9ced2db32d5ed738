import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OrderPlacedSchema } from "@orderflow/contracts";
import { createLogger } from "@orderflow/logging";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import { type ReplayableSubscription, ReplayRefused, runReplay } from "../src/index.js";
import { inbox } from "./fixture.js";

/**
 * A replay request that cannot be run is refused before anything is read or
 * written: no stream and no database is reached (both stand-ins below throw
 * if they are touched). The runs themselves are in e2e/replay.test.ts.
 */
const untouched = new Proxy({}, { get: () => assert.fail("a refused replay must not reach NATS or Postgres") });
const subscription = (replay: ReplayableSubscription["replay"]): ReplayableSubscription => ({
  durable: "t-replay",
  subject: "orders.order.placed",
  schema: OrderPlacedSchema,
  handler: async () => {},
  replay,
});
const run = (sub: ReplayableSubscription, request: Parameters<typeof runReplay>[1]) =>
  runReplay(
    {
      js: untouched as never,
      db: untouched as NodePgDatabase,
      inbox,
      logger: createLogger({ service: "replay-test", level: "silent" }),
      subscriptions: [sub],
    },
    request,
  );

describe("replay requests that are refused", () => {
  const replayable = subscription({ replayable: true, how: "the handler itself" });
  const cases: [string, ReplayableSubscription, Parameters<typeof runReplay>[1], RegExp][] = [
    [
      "an unknown consumer",
      replayable,
      { consumer: "nope", since: "2026-01-01T00:00:00Z", dryRun: true },
      /no consumer nope here; consumers: t-replay/,
    ],
    [
      "a consumer whose handler must not run twice",
      subscription({ replayable: false, why: "it charges a card" }),
      { consumer: "t-replay", since: "2026-01-01T00:00:00Z", replayId: "r" },
      /t-replay is not replayable: it charges a card/,
    ],
    [
      "a real run without a replay id",
      replayable,
      { consumer: "t-replay", since: "2026-01-01T00:00:00Z" },
      /needs a replay id/,
    ],
    [
      "a window by time and by sequence at once",
      replayable,
      { consumer: "t-replay", since: "2026-01-01T00:00:00Z", fromSeq: 3, dryRun: true },
      /not both/,
    ],
    [
      "a window without a start",
      replayable,
      { consumer: "t-replay", until: "2026-01-01T00:00:00Z", dryRun: true },
      /start of the window/,
    ],
    ["a time that is not ISO 8601", replayable, { consumer: "t-replay", since: "yesterday", dryRun: true }, /ISO 8601/],
  ];
  for (const [what, sub, request, message] of cases) {
    it(`when asked for ${what}, then it is refused with the reason`, async () => {
      await assert.rejects(
        run(sub, request),
        (err: Error) => err instanceof ReplayRefused && message.test(err.message),
      );
    });
  }
});
