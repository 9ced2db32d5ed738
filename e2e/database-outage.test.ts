import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { SERVICE_NAMES } from "@orderflow/stack";
import { notified, postOrder, waitForOrder } from "./support/api.js";
import { systemForSuite } from "./support/system.js";

/**
 * The database is away: an outage to ride out, not a crash and not bad input.
 * While Postgres is down, PlaceOrder answers UNAVAILABLE and the gateway 503
 * with Retry-After; once it is back, the same key places the order exactly
 * once, and no service has died (each rode the restart out by itself).
 */
describe("database-outage", () => {
  const system = systemForSuite({ postgres: "private", supervise: true });

  it("when Postgres is down, then POST answers 503 with Retry-After, and the same key succeeds once it is back", async () => {
    const body = { customerId: "c-outage", items: [{ sku: "CB-001", quantity: 1 }] };
    const before = await postOrder(system.gatewayUrl, body);
    assert.equal(before.status, 201);

    await system.postgres?.stop("immediate");
    const key = randomUUID();
    const down = await postOrder(system.gatewayUrl, body, key);
    assert.equal(down.status, 503, JSON.stringify(down.body));
    assert.equal(down.headers.get("content-type"), "application/problem+json; charset=utf-8");
    assert.ok(down.headers.get("retry-after"), "Retry-After tells the client when to retry");
    assert.match(String(down.body.title), /retry with the same Idempotency-Key/);

    await system.postgres?.start();
    let again = await postOrder(system.gatewayUrl, body, key);
    // The pool may meet the first broken connection once more: a client retries 503s.
    for (let i = 0; i < 20 && again.status === 503; i++) {
      await new Promise((r) => setTimeout(r, 500));
      again = await postOrder(system.gatewayUrl, body, key);
    }
    assert.equal(again.status, 201, JSON.stringify(again.body));
    const orderId = String(again.body.orderId);
    const replay = await postOrder(system.gatewayUrl, body, key);
    assert.equal(replay.body.orderId, orderId, "one order for the key");

    for (const id of [String(before.body.orderId), orderId]) {
      await waitForOrder(system.gatewayUrl, id, (o) => o.status === "CONFIRMED" && notified(o), 60_000);
    }
    const exits = SERVICE_NAMES.flatMap((name) => system.service(name).exits);
    assert.deepEqual(exits, [], "no service died: each rode the restart out");
  });
});
