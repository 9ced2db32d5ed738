/**
 * Retention with short windows, while the system takes orders: rows older
 * than their window are pruned (inbox, outbox, idempotency keys), a duplicate
 * inside the window is still absorbed, the unsafe cases are refused (a
 * dead letter older than the inbox's window is not redriven; windows under
 * which a duplicate could slip through stop a service at start), and nothing
 * else changes: every order reserved, charged and notified once.
 *
 *   pnpm e2e retention
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { baseEnv, REPO_ROOT, waitFor } from "@orderflow/stack";
import { postOrder, waitForOrder } from "./support/api.js";
import { openDatabase } from "./support/database.js";
import { dlq, listDeadLetters } from "./support/dlq.js";
import { asOperator, runCommand } from "./support/operator.js";
import { assertCompletedOnce, placeOrders } from "./support/orders.js";
import { systemForSuite } from "./support/system.js";

/** Seconds, as the services take them (hours, fractions allowed). */
const hours = (s: number) => String(s / 3600);
const STREAM_S = 12;
const INBOX_S = 20;
const SHORT = {
  STREAM_MAX_AGE_HOURS: hours(STREAM_S),
  INBOX_RETENTION_HOURS: hours(INBOX_S),
  OUTBOX_RETENTION_HOURS: hours(5),
  CONSUMER_FAILURE_RETENTION_HOURS: "0.1",
  RETENTION_INTERVAL_MS: "1000",
  RETENTION_BATCH_SIZE: "7",
};
const POISON_SKU = "HD-001";

describe("retention", () => {
  const system = systemForSuite({
    env: {
      order: { ...SHORT, IDEMPOTENCY_KEY_RETENTION_HOURS: hours(INBOX_S) },
      inventory: { ...SHORT, FAULT_INVENTORY_FAIL_SKU: POISON_SKU, CONSUMER_MAX_DELIVER: "2" },
      payment: SHORT,
      notification: SHORT,
    },
  });

  it("when rows pass their window while orders keep coming, then they are pruned in batches; a duplicate inside the window is absorbed; every order completes once", async (t) => {
    const first = await placeOrders(system, "cust-retention", 12);
    await assertCompletedOnce(system, first);
    const db = openDatabase(system.database.url);
    try {
      // A duplicate of an order's placed event (same event id, new Nats-Msg-Id), inside the window.
      const dupOf = first[0] as string;
      await asOperator(system.nats.url, async ({ jsm, js }) => {
        const m = await jsm.streams.getMessage("ORDERS", { last_by_subj: "orders.order.placed" });
        assert.ok(m);
        const h = natsHeaders();
        for (const k of m.header?.keys() ?? []) if (k !== "Nats-Msg-Id") h.set(k, m.header?.get(k) ?? "");
        await js.publish("orders.order.placed", m.data, { headers: h, msgID: randomUUID() });
      });
      await waitFor("the duplicate to be delivered and acked", async () =>
        asOperator(system.nats.url, async ({ jsm }) => {
          const c = await jsm.consumers.info("ORDERS", "inventory-order-placed");
          return c.num_pending === 0 && c.num_ack_pending === 0 && c.delivered.consumer_seq >= first.length + 1;
        }),
      );
      assert.equal(
        await db.scalar("SELECT count(*) FROM inventory.reservations"),
        first.length,
        "no second reservation",
      );
      assert.ok(dupOf);

      const inboxOf = (schema: string) => db.scalar(`SELECT count(*) FROM ${schema}.inbox`);
      const before = await inboxOf("inventory");
      assert.ok(before >= first.length, `inventory's inbox holds ${before} rows`);
      // More orders keep coming while the first ones' rows age past their windows.
      const later: string[] = [];
      await waitFor(
        "the first orders' inbox rows, idempotency keys and published outbox rows to be pruned",
        async () => {
          later.push(...(await placeOrders(system, "cust-retention-later", 1)));
          const oldInbox = await db.scalar(
            "SELECT count(*) FROM inventory.inbox WHERE processed_at < now() - make_interval(secs => $1)",
            [INBOX_S + 2],
          );
          const keys = await db.scalar(
            "SELECT count(*) FROM orders.idempotency_keys k JOIN orders.orders o ON o.id = k.order_id WHERE o.id = ANY($1::uuid[])",
            [first],
          );
          const oldOutbox = await db.scalar(
            "SELECT count(*) FROM orders.outbox WHERE published_at < now() - interval '7 seconds'",
          );
          return oldInbox === 0 && keys === 0 && oldOutbox === 0;
        },
        { timeoutMs: 90_000, intervalMs: 1000 },
      );
      t.diagnostic(
        `inventory inbox: ${before} rows before, ${await inboxOf("inventory")} after pruning; ${later.length} orders placed meanwhile`,
      );
      const metrics = await (
        await fetch(`http://127.0.0.1:${system.service("inventory").env.HTTP_PORT}/metrics`)
      ).text();
      assert.match(metrics, /retention_pruned_rows_total\{[^}]*table="inventory\.inbox"[^}]*\} [1-9]/);
      // Nothing else changed: every order, old and new, reserved, charged and notified exactly once.
      await assertCompletedOnce(system, [...first, ...later]);
    } finally {
      await db.close();
    }
  });

  it("when a dead letter is older than the inbox's window, then its redrive is refused, and it stays", async () => {
    const poison = await postOrder(system.gatewayUrl, {
      customerId: "cust-retention",
      items: [{ sku: POISON_SKU, quantity: 1 }],
    });
    const letter = await waitFor("the dead letter", async () =>
      listDeadLetters(system.nats.url).find((l) => l.consumer === "inventory-order-placed"),
    );
    await new Promise((r) => setTimeout(r, INBOX_S * 1000 + 1000));
    const refused = runCommand("dlq", system.nats.url, ["redrive", String(letter.seq)], 30_000, {
      INBOX_RETENTION_HOURS: SHORT.INBOX_RETENTION_HOURS,
    });
    assert.equal(refused.status, 1, refused.stdout);
    assert.match(refused.stderr, /past the inbox's retention \(INBOX_RETENTION_HOURS=/);
    assert.ok(
      listDeadLetters(system.nats.url).some((l) => l.seq === letter.seq),
      "the dead letter stays",
    );
    const order = await waitForOrder(system.gatewayUrl, poison.body.orderId as string, () => true);
    assert.equal(order.status, "PENDING");
    assert.equal(dlq(system.nats.url, "list").status, 0);
  });

  it("when a service is given windows under which a duplicate could slip through, then it refuses to start and says why", () => {
    const run = spawnSync(
      process.execPath,
      ["--conditions=development", "--import", "tsx", "services/payment/src/main.ts"],
      {
        cwd: REPO_ROOT,
        env: {
          ...baseEnv(),
          DATABASE_URL: system.database.url,
          NATS_URL: system.nats.url,
          STREAM_MAX_AGE_HOURS: "2",
          INBOX_RETENTION_HOURS: "1",
        },
        encoding: "utf8",
        timeout: 30_000,
      },
    );
    assert.notEqual(run.status, 0);
    assert.match(run.stdout + run.stderr, /INBOX_RETENTION_HOURS=1 must be longer than STREAM_MAX_AGE_HOURS=2/);
  });
});
