import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, beforeEach, describe, it } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { EVENTS, OrderPlacedSchema } from "@orderflow/contracts";
import { transaction } from "@orderflow/db";
import { withCorrelation } from "@orderflow/logging";
import { waitFor } from "@orderflow/stack";
import type pg from "pg";
import {
  addToOutbox,
  messagingRetention,
  pruneBatch,
  publishOutboxBatch,
  type RetainedTable,
  registerLocalRelay,
  startOutboxRelay,
  startRetention,
} from "../src/index.js";
import { type MessagingFixture, messagingFixture, outbox } from "./fixture.js";

async function enqueue(f: MessagingFixture, n: number, prefix = "o") {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    await f.db.transaction(async (tx) => {
      ids.push(
        await withCorrelation({ correlationId: `corr-${prefix}-${i}` }, () =>
          addToOutbox(tx, outbox, EVENTS.orderPlaced, { orderId: `${prefix}-${i}`, customerId: "c" }),
        ),
      );
    });
  }
  return ids;
}

/**
 * The pool as a relay sees it: each pool.query shown to `onQuery` first (which
 * may throw to fail it), each pool.connect (a claim) to `onConnect`.
 */
function watchedPool(pool: pg.Pool, watch: { onQuery?: (text: string) => void; onConnect?: () => void }): pg.Pool {
  return new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === "connect") {
        return () => {
          watch.onConnect?.();
          return target.connect();
        };
      }
      if (prop === "query") {
        return async (...args: [string]) => {
          watch.onQuery?.(String(args[0]));
          return target.query(...args);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

const streamCount = async (f: MessagingFixture) => (await f.jsm.streams.info("ORDERS")).state.messages;
const unpublished = (f: MessagingFixture) =>
  f.count("SELECT count(*) AS n FROM msgtest.outbox WHERE published_at IS NULL");

describe("outbox relay (against Postgres and nats-server)", () => {
  let f: MessagingFixture;
  before(async () => {
    f = await messagingFixture();
  });
  after(async () => f.close());
  /** A relay that polls every two minutes: whatever it publishes sooner, a wake-up made it. */
  const sleepyRelay = () =>
    startOutboxRelay({ pool: f.pool, js: f.js, schema: "msgtest", logger: f.logger, pollIntervalMs: 120_000 });
  beforeEach(async () => {
    await f.jsm.streams.purge("ORDERS");
    await f.pool.query("DELETE FROM msgtest.outbox");
  });

  it("when a transaction of another process (here: drizzle's own) commits an outbox row, then its NOTIFY wakes the relay (no poll), which publishes it with Nats-Msg-Id = the row id", async () => {
    const relay = sleepyRelay();
    try {
      await new Promise((r) => setTimeout(r, 300)); // let it LISTEN
      const [id] = await enqueue(f, 1, "wake");
      await waitFor("the row to be published", async () => (await unpublished(f)) === 0, { timeoutMs: 5000 });
      const stored = await f.jsm.streams.getMessage("ORDERS", { last_by_subj: "orders.order.placed" });
      assert.equal(stored?.header.get("Nats-Msg-Id"), id);
      assert.equal(stored?.header.get("X-Correlation-ID"), "corr-wake-0");
      assert.equal(stored?.header.get("X-Event-Type"), "orderflow.events.v1.OrderPlaced");
      assert.equal(fromBinary(OrderPlacedSchema, stored!.data).orderId, "wake-0");
    } finally {
      await relay.stop();
    }
  });

  it("when this process's own transaction commits an outbox row, then its relay is woken by a call after COMMIT, with no NOTIFY", async () => {
    const relay = sleepyRelay();
    const listener = await f.pool.connect();
    let notifications = 0;
    listener.on("notification", () => notifications++);
    try {
      await listener.query('LISTEN "outbox_msgtest"');
      await new Promise((r) => setTimeout(r, 300)); // let the relay LISTEN too
      await transaction(f.db, (tx) => addToOutbox(tx, outbox, EVENTS.orderPlaced, { orderId: "local-1" }));
      await waitFor("the row to be published", async () => (await unpublished(f)) === 0, { timeoutMs: 5000 });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(notifications, 0, "no NOTIFY: the commit did not serialize on the notification queue");
      // The control: a transaction the relay cannot hook into still NOTIFYs.
      await enqueue(f, 1, "notify");
      await waitFor("the NOTIFY", () => notifications === 1, { timeoutMs: 5000 });
    } finally {
      await listener.query("UNLISTEN *").catch(() => {});
      listener.release();
      await relay.stop();
    }
  });

  it("when this process's transactions commit rows, then the relay publishes them from memory: no claim, no query to find them", async () => {
    // The relay's pool, counted: a claim takes a connection (pool.connect), a mark is one pool.query.
    let connects = 0;
    let queries = 0;
    const counted = watchedPool(f.pool, { onConnect: () => connects++, onQuery: () => queries++ });
    const relay = startOutboxRelay({
      pool: counted,
      js: f.js,
      schema: "msgtest",
      logger: f.logger,
      pollIntervalMs: 120_000,
    });
    try {
      await new Promise((r) => setTimeout(r, 300)); // its first poll and its LISTEN
      const [connectsBefore, queriesBefore] = [connects, queries];
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          transaction(f.db, (tx) => addToOutbox(tx, outbox, EVENTS.orderPlaced, { orderId: `memory-${i}` })),
        ),
      );
      await waitFor("every row to be published", async () => (await unpublished(f)) === 0, { timeoutMs: 5000 });
      assert.equal(await streamCount(f), 20);
      assert.equal(connects - connectsBefore, 0, "no claim: the rows came from memory");
      assert.ok(
        queries - queriesBefore <= 20,
        `at most one marking statement per publish round: ${queries - queriesBefore}`,
      );
    } finally {
      await relay.stop();
    }
  });

  it("when rows trickle in one by one, then their marks are gathered into a few statements, each row with the time JetStream acknowledged it", async () => {
    let marks = 0;
    const counted = watchedPool(f.pool, {
      onQuery: (text) => {
        if (text.includes("SET published_at")) marks++;
      },
    });
    const relay = startOutboxRelay({
      pool: counted,
      js: f.js,
      schema: "msgtest",
      logger: f.logger,
      pollIntervalMs: 120_000,
    });
    try {
      await new Promise((r) => setTimeout(r, 300)); // its first poll and its LISTEN
      const ids: string[] = [];
      const acked: number[] = [];
      const base = await streamCount(f);
      for (let i = 0; i < 10; i++) {
        ids.push(
          await transaction(f.db, (tx) => addToOutbox(tx, outbox, EVENTS.orderPlaced, { orderId: `trickle-${i}` })),
        );
        // Each one published before the next commits: ten publish rounds.
        await waitFor("the row to reach the stream", async () => (await streamCount(f)) >= base + i + 1, {
          timeoutMs: 5000,
        });
        acked.push(Date.now());
      }
      await waitFor("every row to be marked", async () => (await unpublished(f)) === 0, { timeoutMs: 5000 });
      assert.ok(marks <= 4, `ten rounds, marked in ${marks} statement(s)`);
      const { rows } = await f.pool.query<{ id: string; at: Date }>(
        "SELECT id, published_at AS at FROM msgtest.outbox WHERE id = ANY($1::uuid[])",
        [ids],
      );
      const at = new Map(rows.map((r) => [r.id, r.at.getTime()]));
      // published_at is the ack's time, not the (later, shared) mark's: each before the test saw the next row in the stream.
      ids.forEach((id, i) => {
        assert.ok((at.get(id) ?? Number.POSITIVE_INFINITY) <= (acked[i] as number) + 5, `row ${i} dated by its ack`);
      });
    } finally {
      await relay.stop();
    }
  });

  it("when marking published rows fails, then the poll publishes them again and JetStream drops the duplicates", async () => {
    let failedMarks = 0;
    const failing = watchedPool(f.pool, {
      onQuery: (text) => {
        if (text.includes("SET published_at") && failedMarks === 0) {
          failedMarks++;
          throw new Error("the mark is refused for the test");
        }
      },
    });
    const relay = startOutboxRelay({
      pool: failing,
      js: f.js,
      schema: "msgtest",
      logger: f.logger,
      pollIntervalMs: 500,
    });
    try {
      await new Promise((r) => setTimeout(r, 300)); // its first poll and its LISTEN
      await transaction(f.db, (tx) => addToOutbox(tx, outbox, EVENTS.orderPlaced, { orderId: "mark-fails" }));
      await waitFor("the mark to fail", async () => failedMarks === 1, { timeoutMs: 5000 });
      // Published, not marked: a poll claims it, publishes it again and marks it.
      await waitFor("the row to be marked by a poll", async () => (await unpublished(f)) === 0, { timeoutMs: 10_000 });
      assert.equal(await streamCount(f), 1, "the second publish was a duplicate, dropped by JetStream");
    } finally {
      await relay.stop();
    }
  });

  it("when the process dies between a transaction's COMMIT and the publish, then the row waits in the table and a relay's poll publishes it", async () => {
    // A relay that takes the row after COMMIT and dies with it before publishing.
    const dead = registerLocalRelay("msgtest", () => {});
    let id: string;
    try {
      id = await transaction(f.db, (tx) => addToOutbox(tx, outbox, EVENTS.orderPlaced, { orderId: "straggler-1" }));
    } finally {
      dead();
    }
    assert.equal(await unpublished(f), 1, "committed, not published");
    const relay = startOutboxRelay({
      pool: f.pool,
      js: f.js,
      schema: "msgtest",
      logger: f.logger,
      pollIntervalMs: 200,
    });
    try {
      await waitFor("the poll to publish the straggler", async () => (await unpublished(f)) === 0, { timeoutMs: 5000 });
      const stored = await f.jsm.streams.getMessage("ORDERS", { last_by_subj: "orders.order.placed" });
      assert.equal(stored?.header.get("Nats-Msg-Id"), id);
    } finally {
      await relay.stop();
    }
  });

  it("when two relays run on one outbox, then every row is published exactly once", async () => {
    await enqueue(f, 150, "dual");
    const a = startOutboxRelay({ pool: f.pool, js: f.js, schema: "msgtest", logger: f.logger, batchSize: 10 });
    const b = startOutboxRelay({ pool: f.pool, js: f.js, schema: "msgtest", logger: f.logger, batchSize: 10 });
    try {
      await waitFor("every row to be published", async () => (await unpublished(f)) === 0, { timeoutMs: 10_000 });
      assert.equal(await streamCount(f), 150);
      assert.equal(
        await f.count("SELECT count(*) AS n FROM msgtest.outbox WHERE attempts <> 1"),
        0,
        "each row was published once",
      );
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it("when a row is published again (a crash before it was marked), then JetStream drops the duplicate", async () => {
    const [id] = await enqueue(f, 1, "again");
    const relay = startOutboxRelay({ pool: f.pool, js: f.js, schema: "msgtest", logger: f.logger });
    await relay.flush();
    await relay.stop();
    await f.pool.query("UPDATE msgtest.outbox SET published_at = NULL WHERE id = $1", [id]);
    const again = startOutboxRelay({ pool: f.pool, js: f.js, schema: "msgtest", logger: f.logger });
    await again.flush();
    await again.stop();
    assert.equal(await unpublished(f), 0);
    assert.equal(await streamCount(f), 1);
  });

  it("when nats-server is down, then rows wait with their error, and are published once it is back", async () => {
    const relay = startOutboxRelay({
      pool: f.pool,
      js: f.js,
      schema: "msgtest",
      logger: f.logger,
      pollIntervalMs: 200,
      publishTimeoutMs: 500,
    });
    try {
      await f.nats.pause();
      await enqueue(f, 5, "outage");
      await waitFor(
        "a failed attempt to be recorded",
        async () => (await f.count("SELECT count(*) AS n FROM msgtest.outbox WHERE last_error IS NOT NULL")) > 0,
        { timeoutMs: 10_000 },
      );
      assert.equal(await unpublished(f), 5, "nothing is marked published while the broker is down");
      await f.nats.resume();
      await waitFor("the rows to be published", async () => (await unpublished(f)) === 0, { timeoutMs: 20_000 });
      assert.equal(await streamCount(f), 5);
    } finally {
      await relay.stop();
    }
  });

  it("when a publish from memory fails (the broker paused past the publish timeout), then the poll records the error and publishes the row once the broker is back", async () => {
    const relay = startOutboxRelay({
      pool: f.pool,
      js: f.js,
      schema: "msgtest",
      logger: f.logger,
      pollIntervalMs: 200,
      publishTimeoutMs: 500,
    });
    try {
      await new Promise((r) => setTimeout(r, 300)); // its first poll and its LISTEN
      await f.nats.pause();
      await Promise.all(
        Array.from({ length: 3 }, (_, i) =>
          transaction(f.db, (tx) => addToOutbox(tx, outbox, EVENTS.orderPlaced, { orderId: `failed-memory-${i}` })),
        ),
      );
      await waitFor(
        "the poll to record the failed publishes",
        async () => (await f.count("SELECT count(*) AS n FROM msgtest.outbox WHERE last_error IS NOT NULL")) === 3,
        { timeoutMs: 15_000 },
      );
      assert.equal(await unpublished(f), 3, "nothing is marked published while the broker is down");
      await f.nats.resume();
      await waitFor("the rows to be published", async () => (await unpublished(f)) === 0, { timeoutMs: 20_000 });
      assert.equal(await streamCount(f), 3, "each once (Nats-Msg-Id drops a publish that reached the stream twice)");
    } finally {
      await relay.stop();
    }
  });

  it("when published rows are older than the retention, then retention prunes them in batches and keeps the rest", async () => {
    const ids = await enqueue(f, 3, "prune");
    await f.pool.query(
      "UPDATE msgtest.outbox SET published_at = now() - interval '2 hours' WHERE id = ANY($1::uuid[])",
      [ids.slice(0, 2)],
    );
    const retention = startRetention({
      pool: f.pool,
      logger: f.logger,
      tables: messagingRetention("msgtest", { inboxMs: 3_600_000, consumerFailuresMs: 3_600_000, outboxMs: 3_600_000 }),
      intervalMs: 60_000,
      batchSize: 1,
    });
    try {
      const counts = await retention.runOnce();
      assert.equal(counts["msgtest.outbox"], 2, "two batches of one");
      const { rows } = await f.pool.query("SELECT id FROM msgtest.outbox");
      assert.deepEqual(
        rows.map((r) => r.id),
        [ids[2]],
        "the unpublished row stays, whatever its age",
      );
    } finally {
      await retention.stop();
    }
  });

  it("when Postgres drops the relay's connections (as a restart does), then it reconnects, listens again and keeps relaying", async () => {
    const relay = sleepyRelay();
    try {
      await new Promise((r) => setTimeout(r, 300));
      await f.pool.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
      );
      await new Promise((r) => setTimeout(r, 1500)); // the listener's reconnect delay
      await enqueue(f, 3, "after-drop");
      await waitFor("the rows to be published on a commit notification", async () => (await unpublished(f)) === 0, {
        timeoutMs: 10_000,
      });
      assert.equal(await streamCount(f), 3);
    } finally {
      await relay.stop();
    }
  });

  /** Claim and publish, one batch at a time, without the relay's waking and sleeping (outbox-publish.ts). */
  describe("claim and publish one batch", () => {
    const batch = (batchSize: number) => publishOutboxBatch({ pool: f.pool, js: f.js, schema: "msgtest", batchSize });

    it("when rows wait, then a batch claims at most batchSize of them, publishes and marks them; an empty outbox gives 0", async () => {
      await enqueue(f, 5, "p");
      assert.equal(await batch(3), 3);
      assert.equal(await unpublished(f), 2);
      assert.equal(await batch(3), 2);
      assert.equal(await batch(3), 0);
      assert.equal(await streamCount(f), 5);
    });

    it("when two batches run at once, then SKIP LOCKED gives them different rows", async () => {
      await enqueue(f, 10, "p");
      const claimed = await Promise.all([batch(5), batch(5)]);
      assert.equal(claimed[0] + claimed[1], 10);
      assert.equal(await streamCount(f), 10, "no row published twice");
    });

    it("when one publish of a batch fails, then the others are marked published, the failed row keeps its error, and the batch throws", async () => {
      await enqueue(f, 2, "p");
      // A subject no stream holds: JetStream has no responder for it.
      await f.pool.query(
        "INSERT INTO msgtest.outbox (id, subject, payload, headers) VALUES ($1, 'nowhere.order.placed', '\\x00', $2)",
        [randomUUID(), { eventType: "x" }],
      );
      await assert.rejects(batch(10), /1 of 3 publishes failed/);
      assert.equal(await streamCount(f), 2);
      const [failed] = (
        await f.pool.query("SELECT attempts, last_error, published_at FROM msgtest.outbox WHERE published_at IS NULL")
      ).rows;
      assert.equal(failed.attempts, 1);
      assert.ok(failed.last_error, "the error is kept on the row");
    });

    it("when published rows are older than the retention, then one batch deletes them and keeps the rest", async () => {
      await enqueue(f, 3, "p");
      await batch(2);
      await f.pool.query(
        "UPDATE msgtest.outbox SET published_at = now() - interval '2 days' WHERE published_at IS NOT NULL",
      );
      const [, , outbox] = messagingRetention("msgtest", { inboxMs: 0, consumerFailuresMs: 0, outboxMs: 86_400_000 });
      assert.equal(await pruneBatch(f.pool, outbox as RetainedTable, 100), 2);
      assert.equal(await f.count("SELECT count(*) AS n FROM msgtest.outbox"), 1, "the unpublished row stays");
    });
  });
});
