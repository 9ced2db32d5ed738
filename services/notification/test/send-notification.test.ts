import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { transaction } from "@orderflow/db";
import { migrateServiceSchema } from "@orderflow/messaging";
import { type ComponentDatabase, componentDatabase } from "@orderflow/stack";
import { NOTIFICATION } from "../src/app.js";
import { fakeSender, type NotificationSender } from "../src/notification-sender.js";
import { type Notifier, notifier, type OrderOutcome } from "../src/send-notification.js";

/** Notifications against the real Postgres, with the fake sender (a provider outside the system). */
describe("notifications: claimed in the consumer's transaction, sent after COMMIT (against Postgres)", () => {
  let t: ComponentDatabase;
  const started: Notifier[] = [];
  const q = (sql: string, params: unknown[] = []) => t.rows(sql, params);
  const start = (sender: NotificationSender) => {
    const n = notifier({ db: t.db, sender, sweepEveryMs: 0 });
    started.push(n);
    return n;
  };
  const outcome = (orderId: string, kind: OrderOutcome["kind"] = "order_confirmed"): OrderOutcome => ({
    orderId,
    customerId: `cust-${orderId.slice(0, 8)}`,
    kind,
    detail: "total 12.34",
  });
  const announced = async (orderId: string) =>
    (
      await q(
        "SELECT count(*)::int AS n FROM notifications.outbox WHERE position(convert_to($1, 'UTF8') in payload) > 0",
        [orderId],
      )
    )[0].n as number;
  const unsent = async (orderId: string) =>
    (
      await q("SELECT count(*)::int AS n FROM notifications.notifications WHERE order_id = $1 AND sent_at IS NULL", [
        orderId,
      ])
    )[0].n as number;
  /** Claimed as a process that dies right after COMMIT leaves it: never dispatched from memory. */
  const claimAndDie = (n: Notifier, o: OrderOutcome) => t.db.transaction((tx) => n.claim(tx, o));
  const makeDue = (orderId: string) =>
    q("UPDATE notifications.notifications SET next_attempt_at = now() - interval '1 second' WHERE order_id = $1", [
      orderId,
    ]);

  before(async () => {
    t = await componentDatabase("notification", (pool) => migrateServiceSchema(pool, NOTIFICATION));
  });
  after(async () => {
    await Promise.all(started.map((n) => n.stop()));
    await t?.close();
  });

  it("when the same outcome is claimed twice, then the customer is told once and it is announced once; another kind is its own", async () => {
    const sender = fakeSender();
    const n = start(sender);
    const orderId = randomUUID();
    await transaction(t.db, (tx) => n.claim(tx, outcome(orderId)));
    await n.settled();
    await transaction(t.db, (tx) => n.claim(tx, outcome(orderId)));
    await n.settled();
    assert.equal(sender.sent.length, 1);
    assert.match(sender.sent[0]?.body ?? "", /is confirmed \(total 12.34\)/);
    await transaction(t.db, (tx) => n.claim(tx, outcome(orderId, "order_cancelled")));
    await n.settled();
    assert.equal(sender.sent.length, 2, "one per order and kind");
    assert.equal(await t.count("notifications.notifications", "order_id = $1 AND sent_at IS NOT NULL", [orderId]), 2);
    assert.equal(await announced(orderId), 2);
  });

  it("when a batch claims three, then nobody is told before COMMIT, and all three are sent, marked and announced after it", async () => {
    const sender = fakeSender();
    const n = start(sender);
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    await transaction(t.db, async (tx) => {
      for (const id of ids) await n.claim(tx, outcome(id));
      assert.equal(sender.sent.length, 0, "the provider is not called inside the transaction");
    });
    await n.settled();
    assert.equal(sender.sent.length, 3);
    for (const id of ids) {
      assert.equal(await unsent(id), 0);
      assert.equal(await announced(id), 1);
    }
  });

  it("when a batch fails after claiming, then nobody is told and nothing is claimed: its retry tells each customer once", async () => {
    const sender = fakeSender();
    const n = start(sender);
    const [a, b] = [randomUUID(), randomUUID()];
    await assert.rejects(
      transaction(t.db, async (tx) => {
        await n.claim(tx, outcome(a));
        await n.claim(tx, outcome(b));
        throw new Error("a poison message in the batch");
      }),
      /poison/,
    );
    await n.settled();
    assert.equal(sender.sent.length, 0);
    assert.equal(await t.count("notifications.notifications", "order_id = ANY($1)", [[a, b]]), 0);
    // Retried one message at a time.
    await transaction(t.db, (tx) => n.claim(tx, outcome(a)));
    await transaction(t.db, (tx) => n.claim(tx, outcome(b)));
    await n.settled();
    assert.deepEqual(sender.sent.map((s) => s.recipient).sort(), [outcome(a).customerId, outcome(b).customerId].sort());
  });

  it("when the provider fails for one, then the others are sent, and it alone is retried with backoff until it goes out", async () => {
    const told: string[] = [];
    let failing = true;
    const sender: NotificationSender = {
      async send(notification) {
        if (notification.recipient === outcome(bad).customerId && failing) throw new Error("provider down");
        told.push(notification.recipient);
      },
    };
    const n = start(sender);
    const [good1, bad, good2] = [randomUUID(), randomUUID(), randomUUID()];
    await transaction(t.db, async (tx) => {
      for (const id of [good1, bad, good2]) await n.claim(tx, outcome(id));
    });
    await n.settled();
    assert.deepEqual(told.sort(), [outcome(good1).customerId, outcome(good2).customerId].sort());
    assert.equal(await announced(good1), 1);
    assert.equal(await announced(bad), 0);
    const [row] = await q(
      "SELECT attempts, last_error, next_attempt_at > now() AS later FROM notifications.notifications WHERE order_id = $1",
      [bad],
    );
    assert.deepEqual(row, { attempts: 1, last_error: "provider down", later: true });
    assert.equal(await n.sweep(), 0, "not due before its backoff");
    failing = false;
    await makeDue(bad);
    assert.equal(await n.sweep(), 1);
    assert.equal(told.filter((r) => r === outcome(bad).customerId).length, 1);
    assert.equal(told.length, 3, "the others were not told again");
    assert.equal(await announced(bad), 1);
  });

  it("when the process dies between the claim's COMMIT and the send, then the sweep sends it once due, and not before", async () => {
    const sender = fakeSender();
    const n = start(sender);
    const orderId = randomUUID();
    await claimAndDie(n, outcome(orderId));
    await n.settled();
    assert.equal(sender.sent.length, 0);
    assert.equal(await n.sweep(), 0, "a claim is left to the dispatch after its COMMIT for a while");
    await makeDue(orderId);
    assert.equal(await n.sweep(), 1);
    assert.equal(sender.sent.length, 1);
    assert.equal(await unsent(orderId), 0);
    assert.equal(await announced(orderId), 1);
  });

  it("when two dispatchers (replicas) sweep the same due rows at once, then each customer is told once", async () => {
    const told: string[] = [];
    const slow: NotificationSender = {
      async send(notification) {
        await new Promise((r) => setTimeout(r, 5));
        told.push(notification.id);
      },
    };
    const [a, b] = [start(slow), start(slow)];
    const orders = Array.from({ length: 20 }, () => randomUUID());
    for (const id of orders) await claimAndDie(a, outcome(id));
    for (const id of orders) await makeDue(id);
    const [takenA, takenB] = await Promise.all([a.sweep(), b.sweep()]);
    assert.equal(takenA + takenB, 20);
    assert.equal(told.length, 20);
    assert.equal(new Set(told).size, 20, "no notification sent twice");
    for (const id of orders) assert.equal(await announced(id), 1);
  });
});
