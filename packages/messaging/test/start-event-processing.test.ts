/**
 * A service starting while its nats-server restarts: startEventProcessing waits
 * for JetStream (it asks for the account's info, provisions streams and
 * consumers, looks each consumer up) instead of crashing on the first
 * timeout, and then handles what was published.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { EVENTS, OrderPlacedSchema } from "@orderflow/contracts";
import { waitFor } from "@orderflow/stack";
import { sql } from "drizzle-orm";
import { Registry } from "prom-client";
import { startEventProcessing, subscribe } from "../src/index.js";
import { type MessagingFixture, messagingFixture } from "./fixture.js";

describe("startEventProcessing (against Postgres and nats-server)", () => {
  let f: MessagingFixture;
  before(async () => {
    f = await messagingFixture();
  });
  after(async () => f.close());

  it("when nats-server is down as the service starts and comes back, then it starts, and handles what is published", async () => {
    await f.nats.pause();
    const warnings: string[] = [];
    const logger = f.logger.child({});
    logger.warn = ((obj: unknown, msg?: string) => {
      warnings.push(String(msg ?? obj));
    }) as typeof logger.warn;
    let started = false;
    const starting = startEventProcessing({
      service: "msgtest",
      nc: f.nc,
      pool: f.pool,
      db: f.db,
      logger,
      registry: new Registry(),
      schema: "msgtest",
      subscriptions: [
        subscribe({
          durable: "t-boot",
          subject: EVENTS.orderPlaced.subject,
          schema: OrderPlacedSchema,
          handler: async ({ tx, event }) => {
            await tx.execute(sql`INSERT INTO msgtest.effects (order_id, note) VALUES (${event.orderId}, 'boot')`);
          },
          replay: { replayable: false, why: "a test" },
        }),
      ],
      consumer: { ackWaitMs: 2000, maxDeliver: 3, maxAckPending: 10, concurrency: 1, batchSize: 1 },
      outboxPollMs: 200,
    }).then((p) => {
      started = true;
      return p;
    });
    // The first JetStream request times out while the server is away (old code: the start
    // rejected here); it is reported and retried.
    await waitFor(
      "the failed attempt to be reported",
      () => warnings.some((w) => /reach JetStream, provision streams and consumers failed; retrying/.test(w)),
      { timeoutMs: 30_000 },
    );
    assert.equal(started, false, "it cannot start without JetStream");
    await f.nats.resume();
    const processing = await starting;
    try {
      await f.js.publish(
        EVENTS.orderPlaced.subject,
        toBinary(OrderPlacedSchema, create(OrderPlacedSchema, { orderId: "boot-1" })),
        { msgID: randomUUID() },
      );
      await waitFor(
        "the event published after the start to be handled",
        async () => (await f.count("SELECT count(*) AS n FROM msgtest.effects WHERE order_id = 'boot-1'")) === 1,
        { timeoutMs: 30_000 },
      );
    } finally {
      await processing.stop();
    }
  });
});
