/**
 * Incident 1: the duplicate order.
 *
 * The order service commits PlaceOrder but its reply arrives after the
 * gateway's deadline (fault switch FAULT_ORDER_SLOW_ACK_MS). The gateway, which
 * owns completion, retries. Without the idempotency key (unsafe toggle
 * UNSAFE_ORDER_IGNORE_IDEMPOTENCY_KEY) the retry places a second order; with it,
 * the retry returns the first.
 *
 *   pnpm e2e duplicate-order
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { type System, startSystem } from "@orderflow/stack";
import { postOrder } from "./support/api.js";
import { openDatabase } from "./support/database.js";

const gatewayEnv = {
  ORDER_RPC_DEADLINE_MS: "500",
  ORDER_RPC_MAX_ATTEMPTS: "3",
  ORDER_RPC_BACKOFF_MS: "50",
  ORDER_RPC_MAX_BACKOFF_MS: "200",
};
/** 3 attempts x 500 ms + backoffs of at most 50 and 100 ms. */
const RETRY_BUDGET_MS = 1650;
const slowFirstAck = { FAULT_ORDER_SLOW_ACK_MS: "1500", FAULT_ORDER_SLOW_ACK_COUNT: "1" };
const order = (customerId: string) => ({ customerId, items: [{ sku: "KB-001", quantity: 1 }] });

async function ordersOf(system: System, customerId: string): Promise<string[]> {
  const db = openDatabase(system.database.url);
  try {
    const { rows } = await db.query("SELECT id FROM orders.orders WHERE customer_id = $1 ORDER BY created_at", [
      customerId,
    ]);
    return rows.map((r) => r.id as string);
  } finally {
    await db.close();
  }
}

function retriedAfterDeadline(system: System): boolean {
  return system
    .service("gateway")
    .jsonLines()
    .some((l) => l.msg === "order service call failed; retrying" && l.code === "DEADLINE_EXCEEDED");
}

describe("duplicate-order", () => {
  describe("(a) idempotency safeguard OFF", () => {
    let system: System;
    before(async () => {
      system = await startSystem({
        services: ["order", "gateway"],
        env: { order: { ...slowFirstAck, UNSAFE_ORDER_IGNORE_IDEMPOTENCY_KEY: "true" }, gateway: gatewayEnv },
      });
    });
    after(async () => system?.stop());

    it("when the first ack is late and the gateway retries, then one client request places two orders (the incident)", async (t) => {
      const res = await postOrder(system.gatewayUrl, order("cust-dup-a"));
      const placed = await ordersOf(system, "cust-dup-a");
      t.diagnostic(`(a) safeguard off: 1 client request -> ${placed.length} orders`);
      assert.ok(retriedAfterDeadline(system), "the gateway retried after DEADLINE_EXCEEDED");
      assert.equal(res.status, 201, "the client saw one success");
      assert.equal(placed.length, 2, "but two orders were placed");
      assert.ok(placed.includes(res.body.orderId as string));
    });
  });

  describe("(b, c, d) idempotency safeguard ON", () => {
    let system: System;
    before(async () => {
      system = await startSystem({ services: ["order", "gateway"], env: { order: slowFirstAck, gateway: gatewayEnv } });
    });
    after(async () => system?.stop());

    it("(b) when the first ack is late and the gateway retries, then exactly one order, and the client gets 201 with it", async (t) => {
      const res = await postOrder(system.gatewayUrl, order("cust-dup-b"));
      const placed = await ordersOf(system, "cust-dup-b");
      t.diagnostic(`(b) safeguard on: 1 client request -> ${placed.length} order`);
      assert.ok(retriedAfterDeadline(system), "the gateway retried after DEADLINE_EXCEEDED");
      assert.ok(
        system
          .service("order")
          .jsonLines()
          .some((l) => l.msg === "order already placed under this idempotency key"),
        "the retry was answered from the idempotency key",
      );
      assert.equal(res.status, 201);
      assert.deepEqual(placed, [res.body.orderId]);
    });

    it("(c) when 20 POSTs with one key and one body race, then one order and every response names it", async () => {
      const key = randomUUID();
      const responses = await Promise.all(
        Array.from({ length: 20 }, () => postOrder(system.gatewayUrl, order("cust-dup-c"), key)),
      );
      assert.deepEqual(
        responses.map((r) => r.status),
        Array(20).fill(201),
      );
      const ids = new Set(responses.map((r) => r.body.orderId));
      assert.equal(ids.size, 1);
      assert.deepEqual(await ordersOf(system, "cust-dup-c"), [...ids]);
      assert.equal(responses.filter((r) => r.headers.get("idempotent-replayed") === "false").length, 1);
    });

    it("(d) when the order service is down, then 503 within the retry budget; after a restart the same key places one order", async (t) => {
      const orderService = system.service("order");
      await orderService.stop();
      const key = randomUUID();
      const started = Date.now();
      const down = await postOrder(system.gatewayUrl, order("cust-dup-d"), key);
      const elapsed = Date.now() - started;
      t.diagnostic(`(d) order service down: ${down.status} after ${elapsed} ms (retry budget ${RETRY_BUDGET_MS} ms)`);
      assert.equal(down.status, 503);
      assert.equal(down.headers.get("retry-after"), "1");
      assert.ok(elapsed < RETRY_BUDGET_MS + 500, `answered in ${elapsed} ms`);
      assert.deepEqual(await ordersOf(system, "cust-dup-d"), []);

      await orderService.start();
      // A client retries a 503 or 504 with the same key until it gets an answer
      // (the restarted service still has the slow first ack: a 504 may come first).
      let res = await postOrder(system.gatewayUrl, order("cust-dup-d"), key);
      for (let i = 0; (res.status === 503 || res.status === 504) && i < 20; i++) {
        await new Promise((r) => setTimeout(r, 250));
        res = await postOrder(system.gatewayUrl, order("cust-dup-d"), key);
      }
      assert.equal(res.status, 201);
      const again = await postOrder(system.gatewayUrl, order("cust-dup-d"), key);
      assert.equal(again.body.orderId, res.body.orderId);
      assert.deepEqual(await ordersOf(system, "cust-dup-d"), [res.body.orderId]);
    });
  });
});
