import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AckPolicy } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { provisionConsumer, provisionStreams, streamOf } from "../src/index.js";
import { type MessagingFixture, messagingFixture } from "./fixture.js";

describe("provisioning (against nats-server)", () => {
  let f: MessagingFixture;
  before(async () => {
    f = await messagingFixture();
  });
  after(async () => f.close());

  it("when run twice, then the streams exist once per domain plus the dead letters", async () => {
    await provisionStreams(f.jsm);
    const names = [];
    for await (const s of f.jsm.streams.list()) names.push(s.config.name);
    assert.deepEqual(names.sort(), ["DEAD_LETTERS", "INVENTORY", "NOTIFICATIONS", "ORDERS", "PAYMENTS"]);
    const orders = await f.jsm.streams.info("ORDERS");
    assert.deepEqual(orders.config.subjects, ["orders.>"]);
    assert.equal(orders.config.duplicate_window, nanos(120_000));
  });

  it("when a consumer is provisioned twice with a new ack wait, then it is one durable pull consumer with the new settings", async () => {
    const spec = {
      durable: "t-order-placed",
      subject: "orders.order.placed",
      ackWaitMs: 5000,
      maxDeliver: 4,
      maxAckPending: 8,
    };
    await provisionConsumer(f.jsm, spec);
    await provisionConsumer(f.jsm, { ...spec, ackWaitMs: 3000 });
    const info = await f.jsm.consumers.info("ORDERS", "t-order-placed");
    assert.equal(info.config.ack_policy, AckPolicy.Explicit);
    assert.equal(info.config.filter_subject, "orders.order.placed");
    assert.equal(info.config.max_deliver, -1, "unlimited: the runner counts the failures that are the message's own");
    assert.equal(info.config.max_ack_pending, 8);
    assert.equal(info.config.ack_wait, nanos(3000));
    assert.equal(info.config.backoff, undefined, "backoff is the runner's nak delay (see provision.ts)");
    assert.equal(info.config.deliver_subject, undefined, "a pull consumer");
  });

  it("when asked for a subject's stream, then the domain decides", () => {
    assert.equal(streamOf("payments.payment.failed"), "PAYMENTS");
    assert.throws(() => streamOf("billing.invoice.sent"), /no stream/);
  });
});
