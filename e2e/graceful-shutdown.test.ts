/**
 * Every service is restarted with SIGTERM while orders keep arriving. Each
 * stops its intake, lets in-flight work finish (or hands unstarted messages
 * back), drains NATS and exits 0; a client that retries with the same key
 * sees no lost and no duplicate order.
 *
 *   pnpm e2e graceful-shutdown
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { SERVICE_NAMES } from "@orderflow/stack";
import { authHeaders } from "./support/api.js";
import { openDatabase } from "./support/database.js";
import { assertCompletedOnce } from "./support/orders.js";
import { systemForSuite } from "./support/system.js";

/** A client placing orders in a loop; it retries network errors, 503 and 504 with the same key. */
function loadGenerator(gatewayUrl: string) {
  const accepted = new Map<string, string>(); // key -> orderId
  let running = true;
  let attempts = 0;
  const place = async () => {
    const key = randomUUID();
    for (let i = 0; i < 100; i++) {
      attempts++;
      try {
        const res = await fetch(`${gatewayUrl}/api/v1/orders`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "idempotency-key": key,
            ...(await authHeaders(gatewayUrl, "cust-shutdown")),
          },
          body: JSON.stringify({ customerId: "cust-shutdown", items: [{ sku: "CB-001", quantity: 1 }] }),
        });
        if (res.status === 201) {
          accepted.set(key, ((await res.json()) as { orderId: string }).orderId);
          return;
        }
        if (res.status !== 503 && res.status !== 504) throw new Error(`unexpected ${res.status}: ${await res.text()}`);
      } catch (err) {
        if (!(err instanceof TypeError)) throw err; // fetch failed: the gateway is restarting
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`order with key ${key} was never accepted`);
  };
  const loop = (async () => {
    while (running) {
      await place();
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  return {
    accepted,
    attempts: () => attempts,
    async stop() {
      running = false;
      await loop;
    },
  };
}

describe("graceful-shutdown", () => {
  const system = systemForSuite();

  it("when each service is restarted with SIGTERM under load, then nothing is lost or duplicated", async (t) => {
    const load = loadGenerator(system.gatewayUrl);
    for (const name of SERVICE_NAMES) {
      await new Promise((r) => setTimeout(r, 600));
      const service = system.service(name);
      await service.stop(20_000);
      assert.equal(await service.exited(), 0, `${name} exited 0 after SIGTERM (not killed)`);
      assert.ok(
        service.jsonLines().some((l) => l.msg === "stopped"),
        `${name} ran its shutdown steps`,
      );
      await service.start();
    }
    await new Promise((r) => setTimeout(r, 600));
    await load.stop();

    const orderIds = [...load.accepted.values()];
    t.diagnostic(`${orderIds.length} orders accepted in ${load.attempts()} attempts while all five services restarted`);
    assert.ok(orderIds.length >= 10, "the load ran throughout");
    await assertCompletedOnce(system, orderIds, 60_000);
    const db = openDatabase(system.database.url);
    try {
      assert.equal(
        await db.scalar("SELECT count(*) FROM orders.orders WHERE customer_id = 'cust-shutdown'"),
        orderIds.length,
        "one order per key: no retry placed a second one",
      );
    } finally {
      await db.close();
    }
  });
});
