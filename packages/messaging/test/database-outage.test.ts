import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import { EVENTS, OrderPlacedSchema } from "@orderflow/contracts";
import { type PostgresServerHandle, startPostgresServer, waitFor } from "@orderflow/stack";
import { sql } from "drizzle-orm";
import { listDeadLetters, type Outcome } from "../src/index.js";
import { type MessagingFixture, messagingFixture } from "./fixture.js";

/**
 * Postgres restarted (an immediate stop: every connection aborted, like a
 * crash) while a consumer has messages in flight. An outage is not poison:
 * nothing may be dead-lettered, the process must not die of a pg client's
 * 'error' event, and every message must be handled exactly once afterwards.
 * Runs against a Postgres server of its own, never the shared one.
 */
describe("consumer runner through a Postgres restart", () => {
  let pg: PostgresServerHandle;
  let f: MessagingFixture;
  before(async () => {
    pg = await startPostgresServer();
    f = await messagingFixture(pg.url);
  });
  after(async () => {
    await f?.close();
    await pg?.destroy();
  });

  it("when Postgres restarts with messages in flight, then none is dead-lettered and each is handled once", async () => {
    const outcomes: Outcome[] = [];
    // Three failures with 100 ms between them: without the outage rule, a
    // restart of a few seconds would dead-letter every message in flight.
    const consumer = await f.consume(
      { durable: "t-outage", ackWaitMs: 2000, maxDeliver: 3, maxAckPending: 20 },
      {
        // Batches: an outage in the middle of a batch's transaction naks the whole batch, uncounted.
        concurrency: 4,
        batchSize: 8,
        outageRetryDelayMs: 300,
        observer: { onDelivery: (d) => outcomes.push(d.outcome) },
        handler: async ({ tx, event }) => {
          await tx.execute(sql`SELECT pg_sleep(0.02)`);
          await tx.execute(sql`INSERT INTO msgtest.effects (order_id, note) VALUES (${event.orderId}, 'done')`);
        },
      },
    );
    const total = 60;
    try {
      for (let i = 0; i < total; i++) {
        const data = toBinary(OrderPlacedSchema, create(OrderPlacedSchema, { orderId: `outage-${i}` }));
        await f.js.publish(EVENTS.orderPlaced.subject, data, { msgID: randomUUID() });
      }
      await waitFor("the first messages to be handled", () => outcomes.filter((o) => o === "handled").length >= 5, {
        timeoutMs: 60_000,
      });
      await pg.stop("immediate");
      await sleep(3000);
      await pg.start();

      await waitFor(
        "every message handled after the restart",
        async () => {
          try {
            return (await f.count("SELECT count(*) AS n FROM msgtest.effects")) >= total;
          } catch {
            return false;
          }
        },
        { timeoutMs: 120_000 },
      );
      const { rows } = await f.pool.query(
        "SELECT order_id, count(*)::int AS n FROM msgtest.effects GROUP BY order_id HAVING count(*) <> 1",
      );
      assert.deepEqual(rows, [], "each message's effect exactly once");
      assert.equal(await f.count("SELECT count(DISTINCT order_id) AS n FROM msgtest.effects"), total);
      assert.deepEqual(await listDeadLetters(f.jsm), [], "nothing dead-lettered because the database was away");
      assert.ok(outcomes.includes("unavailable"), "the outage was seen, and not counted as the messages' failure");
      assert.equal(await f.count("SELECT count(*) AS n FROM msgtest.consumer_failures"), 0);
    } finally {
      await consumer.stop();
    }
  });
});
