import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import type { JsMsg } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { EVENTS, HEADERS, OrderPlacedSchema } from "@orderflow/contracts";
import { waitFor } from "@orderflow/stack";
import { sql } from "drizzle-orm";
import {
  type BatchDeliveryOptions,
  batchDeliveryOf,
  deliveryOf,
  type Handler,
  listDeadLetters,
  type Outcome,
  PermanentError,
  provisionConsumer,
} from "../src/index.js";
import { failures, inbox, type MessagingFixture, messagingFixture } from "./fixture.js";

/**
 * A batch's decision, without the pull loop: messages are fetched by hand from
 * a real consumer and given to the batch delivery together; the outcomes, the
 * acks and the rows say what it decided.
 */
describe("a batch's decision (against Postgres and nats-server)", () => {
  let f: MessagingFixture;
  before(async () => {
    f = await messagingFixture();
  });
  after(async () => f.close());

  const SUBJECT = EVENTS.orderPlaced.subject;
  let n = 0;

  const recordEffect: Handler<typeof OrderPlacedSchema> = async ({ tx, event }) => {
    await tx.execute(sql`INSERT INTO msgtest.effects (order_id, note) VALUES (${event.orderId}, 'done')`);
  };
  const effects = (prefix: string) =>
    f.count(`SELECT count(*) AS n FROM msgtest.effects WHERE order_id LIKE '${prefix.replace(/'/g, "")}%'`);

  async function publish(orderId: string, eventId = randomUUID()) {
    const h = headers();
    h.set(HEADERS.eventId, eventId);
    await f.js.publish(SUBJECT, toBinary(OrderPlacedSchema, create(OrderPlacedSchema, { orderId })), {
      msgID: randomUUID(),
      headers: h,
    });
    return eventId;
  }

  /** A fresh consumer over a purged stream, its batch delivery, and a way to fetch what was published. */
  async function setUp(
    handler: Handler<typeof OrderPlacedSchema>,
    options: Partial<BatchDeliveryOptions<typeof OrderPlacedSchema>> = {},
  ) {
    const spec = {
      durable: `t-batch-${++n}`,
      subject: SUBJECT,
      ackWaitMs: 30_000,
      maxDeliver: 2,
      maxAckPending: 100,
      ...options.spec,
    };
    await f.jsm.streams.purge("ORDERS");
    await provisionConsumer(f.jsm, spec);
    const consumer = await f.js.consumers.get("ORDERS", spec.durable);
    const outcomes: Outcome[] = [];
    const sizes: number[] = [];
    const full: BatchDeliveryOptions<typeof OrderPlacedSchema> = {
      js: f.js,
      db: f.db,
      inbox,
      failures,
      schema: OrderPlacedSchema,
      handler,
      logger: f.logger,
      retryDelayMs: () => 100,
      observer: { onDelivery: (d) => outcomes.push(d.outcome) },
      onBatch: ({ size }) => sizes.push(size),
      ...options,
      spec,
    };
    const deliver = batchDeliveryOf(full, deliveryOf(full));
    return {
      spec,
      deliver,
      outcomes,
      sizes,
      async fetch(count: number): Promise<JsMsg[]> {
        const msgs: JsMsg[] = [];
        const pull = await consumer.fetch({ max_messages: count, expires: 5000 });
        for await (const msg of pull) msgs.push(msg);
        assert.equal(msgs.length, count, "fetched what was published");
        return msgs;
      },
      ackPending: async () => (await f.jsm.consumers.info("ORDERS", spec.durable)).num_ack_pending,
    };
  }

  it("when a batch holds the same event twice, then it is handled once in one transaction and both are acked", async () => {
    const t = await setUp(recordEffect);
    const shared = randomUUID();
    await publish("dupinbatch-1", shared);
    await publish("dupinbatch-2");
    await publish("dupinbatch-1", shared); // a redrive of the first, in the same batch
    await t.deliver(await t.fetch(3));
    assert.deepEqual(t.sizes, [3]);
    assert.deepEqual([...t.outcomes].sort(), ["duplicate", "handled", "handled"]);
    assert.equal(await effects("dupinbatch-1"), 1);
    assert.equal(await effects("dupinbatch-2"), 1);
    await waitFor("every ack", async () => (await t.ackPending()) === 0);
  });

  it("when an event of a batch was handled before, then it is acked with no effect and the others are handled", async () => {
    const t = await setUp(recordEffect);
    const seen = await publish("seenbefore-1");
    await f.db.insert(inbox).values({ eventId: seen, consumer: t.spec.durable, subject: SUBJECT });
    await publish("seenbefore-2");
    await t.deliver(await t.fetch(2));
    assert.deepEqual([...t.outcomes].sort(), ["duplicate", "handled"]);
    assert.equal(await effects("seenbefore-"), 1);
  });

  it("when one message of a batch is poison, then only it is dead-lettered and the others commit exactly once", async () => {
    let calls = 0;
    const t = await setUp(async (ctx) => {
      calls++;
      if (ctx.event.orderId === "poisoned-3") throw new PermanentError("this order can never be handled");
      await recordEffect(ctx);
    });
    const poison = randomUUID();
    for (const i of [1, 2, 3, 4, 5]) await publish(`poisoned-${i}`, i === 3 ? poison : randomUUID());
    await t.deliver(await t.fetch(5));
    assert.equal(await effects("poisoned-"), 4, "the four good ones, once each");
    assert.equal(await effects("poisoned-3"), 0);
    assert.deepEqual([...t.outcomes].sort(), ["dead-lettered", "handled", "handled", "handled", "handled"]);
    // The batch ran the first three handlers, rolled back, then each message alone.
    assert.equal(calls, 3 + 5);
    const dead = await listDeadLetters(f.jsm);
    assert.ok(dead.some((d) => d.eventId === poison && d.consumer === t.spec.durable));
    assert.equal(dead.filter((d) => d.consumer === t.spec.durable).length, 1, "only the poison message");
    await waitFor("every ack or term", async () => (await t.ackPending()) === 0);
  });

  it("when a message of a batch fails transiently, then it alone is retried and its failure counted; the others commit once", async () => {
    // Fails on its first delivery (in the batch, then alone), works on its second.
    const t = await setUp(async (ctx) => {
      if (ctx.event.orderId === "flaky-2" && ctx.meta.deliveryCount === 1) throw new Error("a downstream hiccup");
      await recordEffect(ctx);
    });
    for (const i of [1, 2, 3]) await publish(`flaky-${i}`);
    await t.deliver(await t.fetch(3));
    assert.deepEqual([...t.outcomes].sort(), ["handled", "handled", "retry"]);
    assert.equal(await effects("flaky-1"), 1);
    assert.equal(await effects("flaky-3"), 1);
    assert.equal(
      await f.count(`SELECT count(*) AS n FROM msgtest.consumer_failures WHERE consumer = '${t.spec.durable}'`),
      1,
    );
    // Redelivered after the runner's backoff, it is handled, and its failure count goes with the success.
    await t.deliver(await t.fetch(1));
    assert.equal(await effects("flaky-2"), 1);
    assert.equal(
      await f.count(`SELECT count(*) AS n FROM msgtest.consumer_failures WHERE consumer = '${t.spec.durable}'`),
      0,
    );
  });

  it("when the process dies between a batch's COMMIT and its acks, then the redelivered messages are absorbed by the inbox", async () => {
    const t = await setUp(recordEffect, {
      spec: { durable: "t-batch-crash", subject: SUBJECT, ackWaitMs: 1000, maxDeliver: 2, maxAckPending: 100 },
    });
    for (const i of [1, 2, 3, 4]) await publish(`crashafter-${i}`);
    const msgs = await t.fetch(4);
    // The commit happens; the acks never leave this process (it "died").
    const unacked = msgs.map((m) => Object.assign(Object.create(m) as JsMsg, { ack: () => {} }));
    await t.deliver(unacked);
    assert.equal(await effects("crashafter-"), 4);
    assert.equal(await t.ackPending(), 4, "nothing acked");
    // After AckWait, JetStream hands them out again: each one a duplicate.
    await new Promise((r) => setTimeout(r, 1200));
    t.outcomes.length = 0;
    await t.deliver(await t.fetch(4));
    assert.deepEqual(t.outcomes, ["duplicate", "duplicate", "duplicate", "duplicate"]);
    assert.equal(await effects("crashafter-"), 4, "no effect twice");
    await waitFor("every ack", async () => (await t.ackPending()) === 0);
  });

  it("when a batch's handlers run, then they run in the order of the policy's key, each event of one key in its order of arrival", async () => {
    const seen: string[] = [];
    const t = await setUp(
      async (ctx) => {
        seen.push(ctx.event.orderId);
      },
      { batch: { orderKey: (e) => e.orderId.slice(0, 7) } },
    );
    for (const id of ["order-b-1", "order-a-1", "order-b-2", "order-a-2"]) await publish(id);
    await t.deliver(await t.fetch(4));
    assert.deepEqual(seen, ["order-a-1", "order-a-2", "order-b-1", "order-b-2"]);
  });
});

describe("the pull loop takes what is buffered as batches (against Postgres and nats-server)", () => {
  let f: MessagingFixture;
  before(async () => {
    f = await messagingFixture();
  });
  after(async () => f.close());

  it("when 60 messages wait, then they are handled in batches of at most batchSize, each once, and all acked", async () => {
    await f.jsm.streams.purge("ORDERS");
    for (let i = 0; i < 60; i++) {
      await f.js.publish(
        EVENTS.orderPlaced.subject,
        toBinary(OrderPlacedSchema, create(OrderPlacedSchema, { orderId: `loop-${i}` })),
        { msgID: randomUUID() },
      );
    }
    const sizes: number[] = [];
    const running = await f.consume(
      { durable: "t-batch-loop", maxAckPending: 100 },
      {
        handler: async ({ tx, event }) => {
          await tx.execute(sql`INSERT INTO msgtest.effects (order_id, note) VALUES (${event.orderId}, 'loop')`);
        },
        batchSize: 16,
        concurrency: 2,
        onBatch: ({ size }) => sizes.push(size),
      },
    );
    try {
      await waitFor(
        "every message",
        async () => (await f.count("SELECT count(*) AS n FROM msgtest.effects WHERE note = 'loop'")) === 60,
      );
      await waitFor(
        "every ack",
        async () => (await f.jsm.consumers.info("ORDERS", "t-batch-loop")).num_ack_pending === 0,
      );
      assert.equal(await f.count("SELECT count(DISTINCT order_id) AS n FROM msgtest.effects WHERE note = 'loop'"), 60);
      assert.ok(Math.max(...sizes) <= 16, `no batch above 16: ${sizes.join(",")}`);
      assert.ok(sizes.length < 60, `several messages per transaction: ${sizes.length} batches for 60 messages`);
    } finally {
      await running.stop();
    }
  });

  it("when a batch is in flight, then what arrives waits for it and goes as one batch, unless a full batch waits", async () => {
    await f.jsm.streams.purge("ORDERS");
    const publish = (orderId: string) =>
      f.js.publish(EVENTS.orderPlaced.subject, toBinary(OrderPlacedSchema, create(OrderPlacedSchema, { orderId })), {
        msgID: randomUUID(),
      });
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = false;
    const sizes: number[] = [];
    const running = await f.consume(
      { durable: "t-smart-batch", maxAckPending: 100 },
      {
        handler: async ({ tx, event }) => {
          if (event.orderId === "smart-0") {
            held = true;
            await gate;
          }
          await tx.execute(sql`INSERT INTO msgtest.effects (order_id, note) VALUES (${event.orderId}, 'smart')`);
        },
        batchSize: 4,
        concurrency: 2,
        onBatch: ({ size }) => sizes.push(size),
      },
    );
    /** Every published message is in the consumer's buffer (the server sent it, this connection read it). */
    const delivered = async (n: number) => {
      await waitFor(
        `${n} delivered`,
        async () => (await f.jsm.consumers.info("ORDERS", "t-smart-batch")).delivered.consumer_seq === n,
      );
      await f.nc.flush();
      await new Promise((resolve) => setImmediate(resolve));
    };
    const handled = (n: number) =>
      waitFor(
        `${n} handled`,
        async () => (await f.count("SELECT count(*) AS n FROM msgtest.effects WHERE note = 'smart'")) === n,
      );
    try {
      await publish("smart-0");
      await waitFor("the first batch in its handler", () => held);
      // A full batch waits: a second worker takes it while the first is held.
      for (let i = 1; i <= 4; i++) await publish(`smart-${i}`);
      await handled(4);
      // Less than a full batch waits: it waits for the worker in flight.
      for (let i = 5; i <= 7; i++) await publish(`smart-${i}`);
      await delivered(8);
      assert.equal(await f.count("SELECT count(*) AS n FROM msgtest.effects WHERE note = 'smart'"), 4);
      release();
      await handled(8);
      await waitFor(
        "every ack",
        async () => (await f.jsm.consumers.info("ORDERS", "t-smart-batch")).num_ack_pending === 0,
      );
      assert.deepEqual(
        sizes,
        [1, 4, 3],
        "the held one, the full batch beside it, then what waited for it as one batch",
      );
    } finally {
      release();
      await running.stop();
    }
  });
});
