/**
 * Admission control: when the system is behind, new orders are refused with
 * 503 and Retry-After before any work, instead of being accepted and left to
 * wait; once it has caught up, they are accepted again. The bound is small
 * here (ADMISSION_MAX_PENDING_ORDERS=4) and the system is put behind by
 * stopping payment, so that orders wait on it.
 *
 *   pnpm e2e overload
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { getOrder, postOrder, waitForOrder } from "./support/api.js";
import { openDatabase } from "./support/database.js";
import { sample, scrape } from "./support/metrics.js";
import { systemForSuite } from "./support/system.js";

const BOUND = 4;

describe("overload", () => {
  const system = systemForSuite({ env: { order: { ADMISSION_MAX_PENDING_ORDERS: String(BOUND) } } });
  const order = (customerId: string) => ({ customerId, items: [{ sku: "KB-001", quantity: 1 }] });

  it("when the orders pending reach the bound, then the next are refused with 503 and Retry-After, place nothing, and are accepted with the same key once the system has caught up", async () => {
    await system.service("payment").stop();
    const accepted: string[] = [];
    for (let i = 0; i < BOUND; i++) {
      // The count of pending orders is refreshed every 200 ms and errs on the safe side: an order
      // placed while a count runs may be counted twice until the next one. So an order within the
      // bound may be refused for a moment; the same key is accepted once the count is fresh.
      const key = randomUUID();
      const deadline = Date.now() + 5000;
      let res = await postOrder(system.gatewayUrl, order("cust-overload"), key);
      while (res.status === 503 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        res = await postOrder(system.gatewayUrl, order("cust-overload"), key);
      }
      assert.equal(res.status, 201, `order ${i + 1} of ${BOUND} is within the bound`);
      accepted.push(res.body.orderId as string);
    }

    const refusedBefore = sample(await scrape(system, "order"), "orders_admission_refused_total") ?? 0;
    const refusedKey = randomUUID();
    for (let i = 0; i < 3; i++) {
      const refused = await postOrder(system.gatewayUrl, order("cust-overload"), refusedKey);
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get("content-type"), "application/problem+json; charset=utf-8");
      assert.equal(refused.body.type, "/problems/system-busy");
      const pendingSaid = Number(/(\d+) orders pending \(bound (\d+)\)/.exec(String(refused.body.detail))?.[1]);
      assert.ok(
        pendingSaid >= BOUND,
        `the refusal says how many are pending, against the bound: ${refused.body.detail}`,
      );
      assert.match(String(refused.body.detail), new RegExp(`\\(bound ${BOUND}\\)`));
      const retryAfter = Number(refused.headers.get("retry-after"));
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 30, `Retry-After ${retryAfter}`);
    }
    assert.equal(
      (sample(await scrape(system, "order"), "orders_admission_refused_total") ?? 0) - refusedBefore,
      3,
      "each refusal counted",
    );
    const db = openDatabase(system.database.url);
    try {
      assert.equal(await db.scalar("SELECT count(*) FROM orders.orders"), BOUND, "a refusal places nothing");
      assert.equal(
        await db.scalar("SELECT count(*) FROM orders.idempotency_keys WHERE key = $1", [refusedKey]),
        0,
        "nor claims its key",
      );
    } finally {
      await db.close();
    }

    // The system catches up: every accepted order becomes final, and the refused key is accepted.
    await system.service("payment").start();
    for (const id of accepted) await waitForOrder(system.gatewayUrl, id, (o) => o.status !== "PENDING", 60_000);
    const deadline = Date.now() + 30_000;
    let retried = await postOrder(system.gatewayUrl, order("cust-overload"), refusedKey);
    while (retried.status === 503 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250)); // the next count of pending orders
      retried = await postOrder(system.gatewayUrl, order("cust-overload"), refusedKey);
    }
    assert.equal(retried.status, 201);
    assert.equal(retried.headers.get("idempotent-replayed"), "false", "the refused attempt had left nothing behind");
    const final = await waitForOrder(system.gatewayUrl, retried.body.orderId as string, (o) => o.status !== "PENDING");
    assert.equal(final.status, "CONFIRMED");
    assert.equal((await getOrder(system.gatewayUrl, retried.body.orderId as string)).status, 200);
  });
});
