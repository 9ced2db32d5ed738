import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { transaction } from "@orderflow/db";
import { migrateServiceSchema } from "@orderflow/messaging";
import { type ComponentDatabase, componentDatabase } from "@orderflow/stack";
import { NOTIFICATION } from "../src/app.js";
import { fakeSender } from "../src/notification-sender.js";
import { sendNotification } from "../src/send-notification.js";

/** Notifications against the real Postgres, with the fake sender (a provider outside the system). */
describe("sendNotification (against Postgres)", () => {
  let t: ComponentDatabase;
  const q = (sql: string, params: unknown[] = []) => t.rows(sql, params);

  before(async () => {
    t = await componentDatabase("notification", (pool) => migrateServiceSchema(pool, NOTIFICATION));
  });
  after(() => t?.close());

  it("when the same outcome arrives twice, then the customer is told once and it is announced once; another kind is its own", async () => {
    const sender = fakeSender();
    const orderId = randomUUID();
    const confirmed = { orderId, customerId: "c-1", kind: "order_confirmed" as const, detail: "total 12.34" };
    await transaction(t.db, (tx) => sendNotification(tx, confirmed, sender));
    await transaction(t.db, (tx) => sendNotification(tx, confirmed, sender));
    assert.equal(sender.sent.length, 1);
    assert.match(sender.sent[0]?.body ?? "", /is confirmed \(total 12.34\)/);
    await transaction(t.db, (tx) =>
      sendNotification(tx, { ...confirmed, kind: "order_cancelled", detail: "x" }, sender),
    );
    assert.equal(sender.sent.length, 2, "one per order and kind");
    const { n } = (
      await q("SELECT count(*)::int AS n FROM notifications.notifications WHERE order_id = $1", [orderId])
    )[0];
    assert.equal(n, 2);
    const events = await q(
      "SELECT count(*)::int AS n FROM notifications.outbox WHERE position(convert_to($1, 'UTF8') in payload) > 0",
      [orderId],
    );
    assert.equal(events[0].n, 2);
  });

  it("when the sender fails, then nothing is recorded and a redelivery sends it", async () => {
    const orderId = randomUUID();
    const outcome = { orderId, customerId: "c-2", kind: "order_confirmed" as const, detail: "total 1.00" };
    const failing = {
      async send() {
        throw new Error("provider down");
      },
    };
    await assert.rejects(
      transaction(t.db, (tx) => sendNotification(tx, outcome, failing)),
      /provider down/,
    );
    assert.equal(
      (await q("SELECT count(*)::int AS n FROM notifications.notifications WHERE order_id = $1", [orderId]))[0].n,
      0,
    );
    const sender = fakeSender();
    await transaction(t.db, (tx) => sendNotification(tx, outcome, sender));
    assert.equal(sender.sent.length, 1);
  });
});
