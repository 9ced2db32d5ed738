/** Places a batch of orders and checks that each completed with every effect exactly once. */
import assert from "node:assert/strict";
import type { System } from "@orderflow/stack";
import { notified, postOrder, waitForOrder } from "./api.js";
import { openDatabase } from "./database.js";

export async function placeOrders(system: System, customerId: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await postOrder(system.gatewayUrl, { customerId, items: [{ sku: "CB-001", quantity: 1 }] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    ids.push(res.body.orderId as string);
  }
  return ids;
}

/** Every order CONFIRMED and notified; one reservation, one charge, one notification each; no duplicate handled. */
export async function assertCompletedOnce(system: System, orderIds: string[], timeoutMs = 30_000) {
  for (const id of orderIds) {
    await waitForOrder(system.gatewayUrl, id, (o) => o.status === "CONFIRMED" && notified(o), timeoutMs);
  }
  const db = openDatabase(system.database.url);
  try {
    const per = async (sql: string) => {
      const { rows } = await db.query(sql, [orderIds]);
      return rows.map((r) => Number(r.n));
    };
    const once = (what: string, counts: number[]) =>
      assert.deepEqual(counts, Array(orderIds.length).fill(1), `${what}: exactly one per order`);
    once(
      "reservations",
      await per(
        "SELECT count(r.*) AS n FROM unnest($1::uuid[]) AS o(id) LEFT JOIN inventory.reservations r ON r.order_id = o.id GROUP BY o.id",
      ),
    );
    once(
      "charges",
      await per(
        "SELECT count(c.*) AS n FROM unnest($1::uuid[]) AS o(id) LEFT JOIN payments.charges c ON c.order_id = o.id GROUP BY o.id",
      ),
    );
    once(
      "notifications",
      await per(
        "SELECT count(n.*) AS n FROM unnest($1::uuid[]) AS o(id) LEFT JOIN notifications.notifications n ON n.order_id = o.id GROUP BY o.id",
      ),
    );
    once(
      "placed steps",
      await per(
        "SELECT count(t.*) AS n FROM unnest($1::uuid[]) AS o(id) LEFT JOIN orders.order_timeline t ON t.order_id = o.id AND t.step = 'confirmed' GROUP BY o.id",
      ),
    );
  } finally {
    await db.close();
  }
}
