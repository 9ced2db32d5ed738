import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { notified, postOrder, waitForOrder } from "./support/api.js";
import { openDatabase } from "./support/database.js";
import { sample, scrape } from "./support/metrics.js";
import { runCommand } from "./support/operator.js";
import { systemForSuite } from "./support/system.js";

/**
 * Replay after a bug fix. The order service records unit prices ten times too
 * high while FAULT_ORDER_WRONG_UNIT_PRICES is on: a bug that succeeds and acks,
 * so nothing is dead-lettered and redrive cannot help. The fault is lifted
 * (the service restarted without it); `pnpm replay` over the faulty window
 * corrects every affected order, touches none outside it, and charges and
 * notifies nobody again. A replay stopped halfway and run again finishes
 * exactly once; the same replay again changes nothing. A consumer whose
 * handler may not run twice (the payment's charge) is refused with its reason.
 */
const PRICES: Record<string, number> = { "KB-001": 8900, "CB-001": 900 };

describe("replay", () => {
  const system = systemForSuite();

  const replay = (...args: string[]) => runCommand("replay", system.nats.url, args, 120_000);
  const json = (r: { stdout: string }) => JSON.parse(r.stdout) as Record<string, number | boolean>;

  async function placeConfirmed(prefix: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const body = {
        customerId: `${prefix}-${i}`,
        items: [
          { sku: "KB-001", quantity: 1 },
          { sku: "CB-001", quantity: 2 },
        ],
      };
      // As a well-behaved client: a 503 (the order service just restarted) is retried with the same key.
      const key = randomUUID();
      let res = await postOrder(system.gatewayUrl, body, key);
      for (let attempt = 0; attempt < 20 && res.status === 503; attempt++) {
        await sleep(250);
        res = await postOrder(system.gatewayUrl, body, key);
      }
      assert.equal(res.status, 201, JSON.stringify(res.body));
      ids.push(res.body.orderId as string);
    }
    for (const id of ids) await waitForOrder(system.gatewayUrl, id, (o) => o.status === "CONFIRMED" && notified(o));
    return ids;
  }

  it("when a window of wrongly handled events is replayed after the fix, then exactly the affected orders are corrected, once", async () => {
    const db = openDatabase(system.database.url);
    const order = system.service("order");
    try {
      const outsideBefore = await placeConfirmed("replay-before", 3);
      await sleep(1100); // the window's edges fall between events, not on them
      const since = new Date().toISOString();
      await order.stop();
      await order.start({ FAULT_ORDER_WRONG_UNIT_PRICES: "true" });
      const affected = await placeConfirmed("replay-bug", 6);
      const until = new Date().toISOString();
      await sleep(1100);
      await order.stop();
      await order.start({ FAULT_ORDER_WRONG_UNIT_PRICES: undefined }); // the fix is deployed
      const outsideAfter = await placeConfirmed("replay-after", 3);

      const wrongLines = async (ids: string[]) =>
        db.scalar(
          `SELECT count(*) FROM orders.order_items WHERE order_id = ANY($1::uuid[])
             AND unit_price_cents <> CASE sku WHEN 'KB-001' THEN ${PRICES["KB-001"]} WHEN 'CB-001' THEN ${PRICES["CB-001"]} END`,
          [ids],
        );
      assert.equal(await wrongLines(affected), 12, "the bug wrote wrong prices on every line of the window's orders");
      assert.equal(await wrongLines([...outsideBefore, ...outsideAfter]), 0);
      const effects = async () => ({
        charges: await db.scalar("SELECT count(*) FROM payments.charges"),
        notifications: await db.scalar("SELECT count(*) FROM notifications.notifications"),
        steps: await db.scalar("SELECT count(*) FROM orders.order_timeline"),
        events: await db.scalar(
          "SELECT (SELECT count(*) FROM orders.outbox) + (SELECT count(*) FROM inventory.outbox) + (SELECT count(*) FROM payments.outbox)",
        ),
        outsideUpdated: await db.scalar(
          "SELECT extract(epoch FROM max(updated_at)) * 1000 FROM orders.orders WHERE id = ANY($1::uuid[])",
          [[...outsideBefore, ...outsideAfter]],
        ),
      });
      const before = await effects();

      // The operator looks first.
      const dry = replay(
        "--consumer",
        "order-stock-reserved",
        "--since",
        since,
        "--until",
        until,
        "--dry-run",
        "--json",
      );
      assert.equal(dry.status, 0, dry.stderr);
      assert.equal(json(dry).selected, 6, "the window holds the 6 wrongly handled events");
      assert.equal(json(dry).reprocessed, 0, "a dry run changes nothing");

      // A consumer whose handler must not run twice is refused, with the reason.
      const refused = replay("--consumer", "payment-stock-reserved", "--since", since, "--replay-id", "no");
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /payment-stock-reserved is not replayable: .*charge must never happen twice/);

      // Interrupted halfway (--max), then resumed with the same replay id, then run again.
      const window = ["--consumer", "order-stock-reserved", "--since", since, "--until", until, "--json"];
      const first = json(replay(...window, "--replay-id", "fix-prices-1", "--max", "3"));
      assert.deepEqual([first.reprocessed, first.skipped, first.stoppedEarly], [3, 0, true]);
      const resumed = json(replay(...window, "--replay-id", "fix-prices-1"));
      assert.deepEqual([resumed.reprocessed, resumed.skipped, resumed.failed], [3, 3, 0]);
      const again = json(replay(...window, "--replay-id", "fix-prices-1"));
      assert.deepEqual([again.reprocessed, again.skipped], [0, 6], "the same replay again changes nothing");

      assert.equal(await wrongLines(affected), 0, "every affected order corrected");
      const after = await effects();
      assert.deepEqual(after, before, "no charge, notification, step, event or order outside the window changed");
      const metrics = await scrape(system, "order");
      assert.equal(
        sample(metrics, "consumer_replayed_total", { consumer: "order-stock-reserved", outcome: "reprocessed" }),
        6,
      );
      assert.ok(order.jsonLines().some((l) => l.replayId === "fix-prices-1" && l.msg === "replay done"));
      await waitFor(() => system.traces.spans.some((s) => s.name === "replay inventory.stock.reserved"));
      const span = system.traces.spans.find((s) => s.name === "replay inventory.stock.reserved");
      assert.equal(span?.attributes["orderflow.replay.id"], "fix-prices-1");
      assert.ok(
        span?.links.some((l) =>
          system.traces.spans.some((o) => o.traceId === l.traceId && o.name.startsWith("publish")),
        ),
        "the replay span is linked to the original message's trace",
      );
      console.log(
        `  replay: events in the window ${json(dry).selected}, reprocessed ${Number(first.reprocessed) + Number(resumed.reprocessed)} (3 before the interruption, 3 after), ` +
          `orders corrected ${affected.length}, effects repeated ${after.charges - before.charges + after.notifications - before.notifications}`,
      );
    } finally {
      await db.close();
    }
  });
});

async function waitFor(probe: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the replay span");
    await sleep(100);
  }
}
