import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { jetstreamManager } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { EVENTS, OrderPlacedSchema } from "@orderflow/contracts";
import { connectNats } from "@orderflow/process";
import { startNatsServer, waitFor } from "@orderflow/stack";
import { sql } from "drizzle-orm";
import {
  type ConsumerSpec,
  type Handler,
  listDeadLetters,
  type Outcome,
  PermanentError,
  provisionStreams,
  redriveDeadLetter,
} from "../src/index.js";
import { type MessagingFixture, messagingFixture } from "./fixture.js";

const SUBJECT = EVENTS.orderPlaced.subject;

describe("consumer runner (against Postgres and nats-server)", () => {
  let f: MessagingFixture;
  before(async () => {
    f = await messagingFixture();
  });
  after(async () => f.close());

  /** Publishes an OrderPlaced as the relay would: Nats-Msg-Id = event id. */
  async function publish(orderId: string, eventId = randomUUID(), data?: Uint8Array) {
    const h = headers();
    h.set("X-Correlation-ID", `corr-${orderId}`);
    await f.js.publish(SUBJECT, data ?? toBinary(OrderPlacedSchema, create(OrderPlacedSchema, { orderId })), {
      msgID: eventId,
      headers: h,
    });
    return eventId;
  }

  const effects = (orderId: string) =>
    f.count(`SELECT count(*) AS n FROM msgtest.effects WHERE order_id = '${orderId.replace(/'/g, "")}'`);

  /** Runs a fresh durable consumer on orders.order.placed for one test, recording outcomes. */
  async function consume(
    name: string,
    handler: Handler<typeof OrderPlacedSchema>,
    overrides: Partial<ConsumerSpec> & { inboxOutsideTransaction?: boolean; disableInProgressAcks?: boolean } = {},
  ) {
    const { inboxOutsideTransaction, disableInProgressAcks, ...specOverrides } = overrides;
    const outcomes: { outcome: Outcome; deliveryCount: number }[] = [];
    const running = await f.consume(
      { durable: name, subject: SUBJECT, ...specOverrides },
      { handler, inboxOutsideTransaction, disableInProgressAcks, observer: { onDelivery: (d) => outcomes.push(d) } },
    );
    return { outcomes, stop: () => running.stop() };
  }

  const recordEffect: Handler<typeof OrderPlacedSchema> = async ({ tx, event }) => {
    await tx.execute(sql`INSERT INTO msgtest.effects (order_id, note) VALUES (${event.orderId}, 'done')`);
  };

  it("when a message is handled, then its effect and its inbox record commit together, and it is acked", async () => {
    await f.jsm.streams.purge("ORDERS");
    const c = await consume("t-happy", recordEffect);
    try {
      const eventId = await publish("happy-1");
      await waitFor("the handler", () => c.outcomes.length === 1);
      assert.equal(await effects("happy-1"), 1);
      assert.equal(
        await f.count(`SELECT count(*) AS n FROM msgtest.inbox WHERE event_id = '${eventId}' AND consumer = 't-happy'`),
        1,
      );
      await waitFor("the ack", async () => (await f.jsm.consumers.info("ORDERS", "t-happy")).num_ack_pending === 0);
    } finally {
      await c.stop();
    }
  });

  it("when the same event arrives twice, then the second is acked with no effect", async () => {
    await f.jsm.streams.purge("ORDERS");
    const c = await consume("t-dup", recordEffect);
    try {
      const eventId = randomUUID();
      await publish("dup-1", eventId);
      // A redrive or a re-publish past the duplicate window: another message, the same event id.
      const h = headers();
      h.set("X-Event-Id", eventId);
      await f.js.publish(SUBJECT, toBinary(OrderPlacedSchema, create(OrderPlacedSchema, { orderId: "dup-1" })), {
        msgID: randomUUID(),
        headers: h,
      });
      await waitFor("both deliveries", () => c.outcomes.length === 2);
      assert.deepEqual(
        c.outcomes.map((o) => o.outcome),
        ["handled", "duplicate"],
      );
      assert.equal(await effects("dup-1"), 1);
    } finally {
      await c.stop();
    }
  });

  it("when the handler fails transiently, then the message is redelivered with backoff and handled once", async () => {
    await f.jsm.streams.purge("ORDERS");
    let failures = 1;
    const c = await consume("t-transient", async (ctx) => {
      if (failures-- > 0) throw new Error("database briefly unavailable");
      await recordEffect(ctx);
    });
    try {
      await publish("transient-1");
      await waitFor("the retry", () => c.outcomes.some((o) => o.outcome === "handled"));
      assert.deepEqual(
        c.outcomes.map((o) => `${o.outcome}@${o.deliveryCount}`),
        ["retry@1", "handled@2"],
      );
      assert.equal(await effects("transient-1"), 1);
    } finally {
      await c.stop();
    }
  });

  it("when a message comes back while intake is paused for a database outage, then it is handled once the database answers", async () => {
    await f.jsm.streams.purge("ORDERS");
    let outages = 1;
    const outcomes: Outcome[] = [];
    // Room for four: the pull stays open while the first delivery meets the "outage", and the
    // message, handed back after 50 ms, arrives while intake is paused (250 ms until the
    // database is asked again).
    const running = await f.consume(
      { durable: "t-outage-buffered", subject: SUBJECT },
      {
        concurrency: 4,
        outageRetryDelayMs: 50,
        handler: async (ctx) => {
          if (outages-- > 0) throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
          await recordEffect(ctx);
        },
        observer: { onDelivery: (d) => outcomes.push(d.outcome) },
      },
    );
    try {
      await publish("outage-buffered-1");
      await waitFor("the message handled after the outage", () => outcomes.includes("handled"), { timeoutMs: 10_000 });
      assert.deepEqual(outcomes, ["unavailable", "handled"]);
      assert.equal(await effects("outage-buffered-1"), 1);
    } finally {
      await running.stop();
    }
  });

  it("when the handler fails twice under a 30 s AckWait, then each retry comes after the runner's short backoff, not after AckWait", async () => {
    await f.jsm.streams.purge("ORDERS");
    let failures = 2;
    const c = await consume(
      "t-backoff",
      async (ctx) => {
        if (failures-- > 0) throw new Error("transient");
        await recordEffect(ctx);
      },
      { ackWaitMs: 30_000 },
    );
    try {
      await publish("backoff-1");
      await waitFor("the third delivery", () => c.outcomes.some((o) => o.outcome === "handled"), { timeoutMs: 10_000 });
      assert.deepEqual(
        c.outcomes.map((o) => `${o.outcome}@${o.deliveryCount}`),
        ["retry@1", "retry@2", "handled@3"],
      );
    } finally {
      await c.stop();
    }
  });

  it("when a message cannot be decoded, then it goes to the dead letters at once and the next one is handled", async () => {
    await f.jsm.streams.purge("ORDERS");
    await f.jsm.streams.purge("DEAD_LETTERS");
    const c = await consume("t-poison", recordEffect);
    try {
      const badId = await publish("garbage", randomUUID(), new Uint8Array([0xff, 0xff, 0xff, 0xff]));
      await publish("after-poison");
      await waitFor("both messages", () => c.outcomes.length === 2);
      assert.deepEqual(
        c.outcomes.map((o) => o.outcome),
        ["dead-lettered", "handled"],
      );
      const [letter] = await listDeadLetters(f.jsm);
      assert.equal(letter?.originalSubject, SUBJECT);
      assert.equal(letter?.consumer, "t-poison");
      assert.equal(letter?.eventId, badId);
      assert.equal(letter?.deliveryCount, 1);
      assert.equal(letter?.correlationId, "corr-garbage");
      assert.match(letter?.reason ?? "", /undecodable orderflow.events.v1.OrderPlaced/);
    } finally {
      await c.stop();
    }
  });

  it("when the handler throws a PermanentError, then the message is dead-lettered without retries", async () => {
    await f.jsm.streams.purge("ORDERS");
    await f.jsm.streams.purge("DEAD_LETTERS");
    const c = await consume("t-permanent", async () => {
      throw new PermanentError("order has no items");
    });
    try {
      await publish("permanent-1");
      await waitFor("the dead letter", () => c.outcomes.length === 1);
      assert.equal(c.outcomes[0]?.outcome, "dead-lettered");
      assert.match((await listDeadLetters(f.jsm))[0]?.reason ?? "", /PermanentError: order has no items/);
      // Terminated for good: not redelivered after AckWait (1 s here), so dead-lettered once.
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(c.outcomes.length, 1, "no redelivery after the dead letter");
      assert.equal((await listDeadLetters(f.jsm)).length, 1);
      assert.equal((await f.jsm.consumers.info("ORDERS", "t-permanent")).num_ack_pending, 0);
    } finally {
      await c.stop();
    }
  });

  it("when the handler keeps failing, then after max_deliver attempts it is dead-lettered; redriven after the fix, it is handled once", async () => {
    await f.jsm.streams.purge("ORDERS");
    await f.jsm.streams.purge("DEAD_LETTERS");
    let broken = true;
    const c = await consume("t-bounded", async (ctx) => {
      if (broken) throw new Error("bug in the handler");
      await recordEffect(ctx);
    });
    try {
      await publish("bounded-1");
      await waitFor("the dead letter", () => c.outcomes.some((o) => o.outcome === "dead-lettered"), {
        timeoutMs: 10_000,
      });
      assert.deepEqual(
        c.outcomes.map((o) => `${o.outcome}@${o.deliveryCount}`),
        ["retry@1", "retry@2", "dead-lettered@3"],
      );
      const [letter] = await listDeadLetters(f.jsm);
      assert.match(letter?.reason ?? "", /still failing after 3 attempts: Error: bug in the handler/);

      broken = false;
      await redriveDeadLetter(f.js, f.jsm, letter!.seq);
      await waitFor("the redriven message", () => c.outcomes.some((o) => o.outcome === "handled"));
      assert.equal(await effects("bounded-1"), 1);
      assert.deepEqual(await listDeadLetters(f.jsm), [], "the dead letter is gone after the redrive");
    } finally {
      await c.stop();
    }
  });

  it("when a handler runs longer than AckWait, then in-progress acks keep it from being redelivered", async () => {
    await f.jsm.streams.purge("ORDERS");
    const c = await consume(
      "t-slow",
      async (ctx) => {
        await new Promise((r) => setTimeout(r, 2500));
        await recordEffect(ctx);
      },
      { ackWaitMs: 800 },
    );
    try {
      await publish("slow-1");
      await waitFor("the handler", () => c.outcomes.length === 1, { timeoutMs: 10_000 });
      await new Promise((r) => setTimeout(r, 1000));
      assert.deepEqual(
        c.outcomes.map((o) => `${o.outcome}@${o.deliveryCount}`),
        ["handled@1"],
      );
      const info = await f.jsm.consumers.info("ORDERS", "t-slow");
      assert.equal(info.num_redelivered, 0);
    } finally {
      await c.stop();
    }
  });

  it("when in-progress acks are off (unsafe toggle), then a slow handler's message is redelivered under AckWait", async () => {
    await f.jsm.streams.purge("ORDERS");
    const slow: Handler<typeof OrderPlacedSchema> = async (ctx) => {
      await new Promise((r) => setTimeout(r, 2000));
      await recordEffect(ctx);
    };
    const c = await consume("t-slow-unsafe", slow, { ackWaitMs: 800, disableInProgressAcks: true });
    const other = await consume("t-slow-unsafe", slow, { ackWaitMs: 800, disableInProgressAcks: true });
    try {
      await publish("slow-unsafe-1");
      await waitFor(
        "a redelivery",
        async () => (await f.jsm.consumers.info("ORDERS", "t-slow-unsafe")).num_redelivered > 0,
        {
          timeoutMs: 10_000,
        },
      );
      await waitFor("both deliveries to end", () => c.outcomes.length + other.outcomes.length >= 2, {
        timeoutMs: 10_000,
      });
      assert.equal(await effects("slow-unsafe-1"), 1, "the inbox still kept the effect single");
    } finally {
      await Promise.all([c.stop(), other.stop()]);
    }
  });

  it("when the inbox is written outside the work's transaction (unsafe toggle) and the work fails, then the redelivery is dropped as a duplicate (the lost-order incident)", async () => {
    await f.jsm.streams.purge("ORDERS");
    let crash = true;
    const c = await consume(
      "t-lost",
      async (ctx) => {
        await recordEffect(ctx);
        if (crash) {
          crash = false;
          throw new Error("crashed before commit");
        }
      },
      { inboxOutsideTransaction: true },
    );
    try {
      await publish("lost-1");
      await waitFor("the redelivery", () => c.outcomes.length === 2);
      assert.deepEqual(
        c.outcomes.map((o) => o.outcome),
        ["retry", "duplicate"],
      );
      assert.equal(await effects("lost-1"), 0, "the work never happened");
    } finally {
      await c.stop();
    }
  });

  it("when the same failure happens with the inbox inside the transaction, then the redelivery does the work", async () => {
    await f.jsm.streams.purge("ORDERS");
    let crash = true;
    const c = await consume("t-safe", async (ctx) => {
      await recordEffect(ctx);
      if (crash) {
        crash = false;
        throw new Error("crashed before commit");
      }
    });
    try {
      await publish("safe-1");
      await waitFor("the redelivery", () => c.outcomes.length === 2);
      assert.deepEqual(
        c.outcomes.map((o) => o.outcome),
        ["retry", "handled"],
      );
      assert.equal(await effects("safe-1"), 1);
    } finally {
      await c.stop();
    }
  });

  it("when the dead letter cannot be published, then the message is kept and dead-lettered once that works again", async () => {
    await f.jsm.streams.purge("ORDERS");
    await f.jsm.streams.delete("DEAD_LETTERS"); // nowhere to put a dead letter
    const c = await consume(
      "t-dlq-down",
      async () => {
        throw new PermanentError("cannot be processed");
      },
      { maxDeliver: 10 },
    );
    try {
      const eventId = await publish("dlq-down-1");
      await waitFor("a failed dead-lettering", () => c.outcomes.some((o) => o.outcome === "unavailable"), {
        timeoutMs: 10_000,
      });
      await provisionStreams(f.jsm); // the dead-letter stream is back
      await waitFor("the dead letter", () => c.outcomes.some((o) => o.outcome === "dead-lettered"), {
        timeoutMs: 10_000,
      });
      assert.deepEqual(
        (await listDeadLetters(f.jsm)).map((l) => l.eventId),
        [eventId],
      );
    } finally {
      await c.stop();
    }
  });

  it("when no dead-letter stream exists yet, then there are no dead letters (not an error)", async () => {
    const bare = await startNatsServer();
    const nc = await connectNats({ url: bare.url, name: "bare" });
    try {
      assert.deepEqual(await listDeadLetters(await jetstreamManager(nc)), []);
    } finally {
      await nc.close();
      await bare.stop();
    }
  });
});
