import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createPool, migrateSchema, transaction } from "@orderflow/db";
import { createTestDatabase } from "@orderflow/testing";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { fakeSender } from "../src/notification-sender.js";
import { sendNotification } from "../src/send-notification.js";

/** Notifications against the real Postgres, with the fake sender (a provider outside the system). */
describe("sendNotification (against Postgres)", () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: ReturnType<typeof createPool>;
  let db: NodePgDatabase;
  const q = async (sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows;

  before(async () => {
    database = await createTestDatabase();
    pool = createPool({ url: database.url, applicationName: "notification-test" });
    await migrateSchema(pool, {
      schema: "notifications",
      migrationsFolder: fileURLToPath(new URL("../drizzle", import.meta.url)),
    });
    db = drizzle(pool);
  });
  after(async () => {
    await pool?.end();
    await database?.drop();
  });

  it("when the same outcome arrives twice, then the customer is told once and it is announced once; another kind is its own", async () => {
    const sender = fakeSender();
    const orderId = randomUUID();
    const confirmed = { orderId, customerId: "c-1", kind: "order_confirmed" as const, detail: "total 12.34" };
    await transaction(db, (tx) => sendNotification(tx, confirmed, sender));
    await transaction(db, (tx) => sendNotification(tx, confirmed, sender));
    assert.equal(sender.sent.length, 1);
    assert.match(sender.sent[0]?.body ?? "", /is confirmed \(total 12.34\)/);
    await transaction(db, (tx) => sendNotification(tx, { ...confirmed, kind: "order_cancelled", detail: "x" }, sender));
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
      transaction(db, (tx) => sendNotification(tx, outcome, failing)),
      /provider down/,
    );
    assert.equal(
      (await q("SELECT count(*)::int AS n FROM notifications.notifications WHERE order_id = $1", [orderId]))[0].n,
      0,
    );
    const sender = fakeSender();
    await transaction(db, (tx) => sendNotification(tx, outcome, sender));
    assert.equal(sender.sent.length, 1);
  });
});
