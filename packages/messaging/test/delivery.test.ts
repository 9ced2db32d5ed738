import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { headers } from "@nats-io/transport-node";
import { EVENTS, HEADERS, OrderPlacedSchema } from "@orderflow/contracts";
import { sql } from "drizzle-orm";
import { type DeliveryOptions, deliveryOf, type Handler, PermanentError, provisionConsumer } from "../src/index.js";
import { failures, inbox, type MessagingFixture, messagingFixture } from "./fixture.js";

/**
 * One delivery's decision, without the pull loop: each message is fetched by
 * hand from a real consumer and given to the delivery; the outcome, the ack
 * state and the rows say what it decided.
 */
describe("one delivery's decision (against Postgres and nats-server)", () => {
  let f: MessagingFixture;
  before(async () => {
    f = await messagingFixture();
  });
  after(async () => f.close());

  const SUBJECT = EVENTS.orderPlaced.subject;
  let n = 0;
  /** A fresh consumer, a delivery for it, and a way to publish-then-fetch one message. */
  async function setUp(
    handler: Handler<typeof OrderPlacedSchema>,
    options: Partial<DeliveryOptions<typeof OrderPlacedSchema>> = {},
  ) {
    const spec = {
      durable: `t-delivery-${++n}`,
      subject: SUBJECT,
      ackWaitMs: 30_000,
      maxDeliver: 2,
      maxAckPending: 10,
    };
    await f.jsm.streams.purge("ORDERS"); // a new consumer starts at the stream's first message
    await provisionConsumer(f.jsm, spec);
    const consumer = await f.js.consumers.get("ORDERS", spec.durable);
    const deliver = deliveryOf({
      js: f.js,
      db: f.db,
      inbox,
      failures,
      spec,
      schema: OrderPlacedSchema,
      handler,
      logger: f.logger,
      retryDelayMs: () => 50,
      ...options,
    });
    return {
      durable: spec.durable,
      async next(eventId: string, data?: Uint8Array) {
        const h = headers();
        h.set(HEADERS.eventId, eventId);
        const payload = data ?? toBinary(OrderPlacedSchema, create(OrderPlacedSchema, { orderId: eventId }));
        await f.js.publish(SUBJECT, payload, { msgID: randomUUID(), headers: h });
        const msg = await consumer.next({ expires: 5000 });
        assert.ok(msg, "a message to deliver");
        return deliver(msg);
      },
      pending: async () => (await consumer.info()).num_ack_pending,
    };
  }
  const effect: Handler<typeof OrderPlacedSchema> = async ({ tx, event }) => {
    await tx.execute(sql`INSERT INTO msgtest.effects (order_id, note) VALUES (${event.orderId}, 'done')`);
  };
  const effects = (id: string) => f.count(`SELECT count(*) AS n FROM msgtest.effects WHERE order_id = '${id}'`);
  const failureCount = (id: string) =>
    f.count(`SELECT coalesce(sum(failures), 0) AS n FROM msgtest.consumer_failures WHERE event_id = '${id}'`);

  it("when an event is delivered, then it is handled and acked; delivered again, it is a duplicate with no effect", async () => {
    const d = await setUp(effect);
    const id = randomUUID();
    assert.equal(await d.next(id), "handled");
    assert.equal(await d.next(id), "duplicate");
    assert.equal(await effects(id), 1);
    assert.equal(await d.pending(), 0, "both acked");
  });

  it("when the handler fails with the database up, then the failure is counted and the message naked; at maxDeliver it is dead-lettered", async () => {
    const told: string[] = [];
    const d = await setUp(
      async () => {
        throw new Error("bug");
      },
      { onDatabaseAway: (reason) => told.push(reason) },
    );
    const id = randomUUID();
    assert.equal(await d.next(id), "retry");
    assert.equal(await failureCount(id), 1);
    assert.equal(await d.next(id), "dead-lettered", "the second failure of the same event reaches maxDeliver (2)");
    assert.equal(await failureCount(id), 0, "the count is cleared once dead-lettered");
    assert.deepEqual(told, [], "a bug is not an outage: intake goes on");
  });

  it("when the handler fails with a connection-class error, then it is unavailable: naked, not counted, and the loop is told", async () => {
    const told: string[] = [];
    const d = await setUp(
      async () => {
        throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
      },
      { onDatabaseAway: (reason) => told.push(reason) },
    );
    const id = randomUUID();
    assert.equal(await d.next(id), "unavailable");
    assert.equal(await failureCount(id), 0);
    assert.deepEqual(told, ["Error: connect ECONNREFUSED 127.0.0.1:5432"], "the pull loop pauses on this");
  });

  it("when the message is undecodable or the handler says it is permanent, then it is dead-lettered at the first attempt", async () => {
    const undecodable = await setUp(effect);
    assert.equal(await undecodable.next(randomUUID(), new Uint8Array([0x0a, 0xff, 0xff])), "dead-lettered");
    const permanent = await setUp(async () => {
      throw new PermanentError("no such order");
    });
    const id = randomUUID();
    assert.equal(await permanent.next(id), "dead-lettered");
    assert.equal(await failureCount(id), 0, "a permanent failure is not retried, so not counted");
  });
});
