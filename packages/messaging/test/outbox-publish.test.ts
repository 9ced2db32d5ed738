import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, beforeEach, describe, it } from "node:test";
import { EVENTS } from "@orderflow/contracts";
import { addToOutbox, pruneOutbox, publishOutboxBatch } from "../src/index.js";
import { type MessagingFixture, messagingFixture, outbox } from "./fixture.js";

/** Claim and publish, one batch at a time, without the relay's waking and sleeping. */
describe("claim and publish one outbox batch (against Postgres and nats-server)", () => {
  let f: MessagingFixture;
  before(async () => {
    f = await messagingFixture();
  });
  after(async () => f.close());
  beforeEach(async () => {
    await f.jsm.streams.purge("ORDERS");
    await f.pool.query("DELETE FROM msgtest.outbox");
  });

  const enqueue = async (n: number) => {
    for (let i = 0; i < n; i++) {
      await f.db.transaction((tx) => addToOutbox(tx, outbox, EVENTS.orderPlaced, { orderId: `p-${i}` }));
    }
  };
  const batch = (batchSize: number) => publishOutboxBatch({ pool: f.pool, js: f.js, schema: "msgtest", batchSize });
  const streamCount = async () => (await f.jsm.streams.info("ORDERS")).state.messages;
  const unpublished = () => f.count("SELECT count(*) AS n FROM msgtest.outbox WHERE published_at IS NULL");

  it("when rows wait, then a batch claims at most batchSize of them, publishes and marks them; an empty outbox gives 0", async () => {
    await enqueue(5);
    assert.equal(await batch(3), 3);
    assert.equal(await unpublished(), 2);
    assert.equal(await batch(3), 2);
    assert.equal(await batch(3), 0);
    assert.equal(await streamCount(), 5);
  });

  it("when two batches run at once, then SKIP LOCKED gives them different rows", async () => {
    await enqueue(10);
    const claimed = await Promise.all([batch(5), batch(5)]);
    assert.equal(claimed[0] + claimed[1], 10);
    assert.equal(await streamCount(), 10, "no row published twice");
  });

  it("when one publish of a batch fails, then the others are marked published, the failed row keeps its error, and the batch throws", async () => {
    await enqueue(2);
    // A subject no stream holds: JetStream has no responder for it.
    await f.pool.query(
      "INSERT INTO msgtest.outbox (id, subject, payload, headers) VALUES ($1, 'nowhere.order.placed', '\\x00', $2)",
      [randomUUID(), { eventType: "x" }],
    );
    await assert.rejects(batch(10), /1 of 3 publishes failed/);
    assert.equal(await streamCount(), 2);
    const [failed] = (
      await f.pool.query("SELECT attempts, last_error, published_at FROM msgtest.outbox WHERE published_at IS NULL")
    ).rows;
    assert.equal(failed.attempts, 1);
    assert.ok(failed.last_error, "the error is kept on the row");
  });

  it("when published rows are older than the retention, then pruning deletes them and keeps the rest", async () => {
    await enqueue(3);
    await batch(2);
    await f.pool.query(
      "UPDATE msgtest.outbox SET published_at = now() - interval '2 days' WHERE published_at IS NOT NULL",
    );
    assert.equal(await pruneOutbox(f.pool, "msgtest", 24 * 60 * 60 * 1000), 2);
    assert.equal(await f.count("SELECT count(*) AS n FROM msgtest.outbox"), 1, "the unpublished row stays");
  });
});
