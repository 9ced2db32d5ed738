/**
 * Incident 3: the dark failure.
 *
 * The payment handler's database work drifts from milliseconds to seconds
 * (fault switch FAULT_PAYMENT_SLOW_DB_MS), longer than the consumer's AckWait,
 * while orders keep arriving. The publisher side (gateway, order service)
 * answers every POST with 201 either way.
 * - Safeguards off (UNSAFE_PAYMENT_DARK_CONSUMER: no consumer telemetry, no
 *   in-progress acks; UNSAFE_ORDER_NO_WAITING_STATUS: the order does not say
 *   where it waits): nothing shows where orders are stuck, and JetStream
 *   redelivers the slow messages under AckWait.
 * - Safeguards on: the consumer's duration and lag metrics, the stalled-orders
 *   metric, the order's own status and the trace all show it; nothing is
 *   handled twice; every order completes once the fault is lifted.
 *
 *   pnpm e2e dark-failure
 */
import assert from "node:assert/strict";
import { after, afterEach, describe, it } from "node:test";
import { type System, startSystem, waitFor } from "@orderflow/stack";
import { postOrder, waitForOrder } from "./support/api.js";
import { sample, scrape } from "./support/metrics.js";
import { asOperator } from "./support/operator.js";
import { assertCompletedOnce } from "./support/orders.js";

const SLOW_MS = 3000;
const ACK_WAIT_MS = 1000;
const ALL = ["order", "inventory", "payment", "notification", "gateway"] as const;
const PAYMENT = { consumer: "payment-stock-reserved" };

async function placeWhileSlow(system: System, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await postOrder(system.gatewayUrl, {
      customerId: "cust-dark",
      items: [{ sku: "CB-001", quantity: 1 }],
    });
    assert.equal(res.status, 201, "the publisher side reports success");
    ids.push(res.body.orderId as string);
    await new Promise((r) => setTimeout(r, 150));
  }
  return ids;
}

const paymentConsumerInfo = (system: System) =>
  asOperator(system.nats.url, ({ jsm }) => jsm.consumers.info("INVENTORY", PAYMENT.consumer));

describe("dark-failure", () => {
  let system: System | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });
  after(async () => system?.stop());

  it("(a) when the consumer's safeguards are off, then orders sit pending, nothing on the publisher side shows it, and messages are redelivered under AckWait (the incident)", async (t) => {
    system = await startSystem({
      services: [...ALL],
      env: {
        payment: {
          FAULT_PAYMENT_SLOW_DB_MS: String(SLOW_MS),
          CONSUMER_ACK_WAIT_MS: String(ACK_WAIT_MS),
          UNSAFE_PAYMENT_DARK_CONSUMER: "true",
        },
        order: { UNSAFE_ORDER_NO_WAITING_STATUS: "true", ORDER_STALLED_AFTER_MS: "1500" },
      },
    });
    const ids = await placeWhileSlow(system, 6);
    await new Promise((r) => setTimeout(r, 2000));

    const orders = await Promise.all(ids.map((id) => waitForOrder(system!.gatewayUrl, id, () => true)));
    const pending = orders.filter((o) => o.status === "PENDING");
    assert.ok(pending.length > 0, "orders sit pending");
    for (const o of pending) {
      assert.equal(o.waitingOn, null, "the order does not say what it waits on");
      assert.equal(o.stalled, false);
    }
    const orderMetrics = await scrape(system, "order");
    assert.equal(sample(orderMetrics, "orders_stalled"), undefined, "no stalled-orders metric");
    assert.equal(sample(orderMetrics, "orders_pending"), undefined);
    const paymentMetrics = await scrape(system, "payment");
    assert.equal(
      sample(paymentMetrics, "consumer_processing_seconds_count", PAYMENT),
      undefined,
      "no consumer telemetry",
    );
    assert.equal(sample(paymentMetrics, "consumer_pending_messages", PAYMENT), undefined);

    // A redelivery comes once a slow message's AckWait has run out: waited for, with a deadline
    // that holds on a loaded machine, not sampled once.
    const info = await waitFor(
      "the slow messages to be redelivered under AckWait",
      async () => {
        const now = await paymentConsumerInfo(system!);
        return now.num_redelivered > 0 ? now : undefined;
      },
      { timeoutMs: 30_000 },
    );
    t.diagnostic(
      `(a) safeguards off: ${pending.length}/${ids.length} orders pending, all POSTs 201, nothing on /metrics; JetStream redelivered ${info.num_redelivered} message(s) under AckWait`,
    );
  });

  it("(b) when the safeguards are on, then metrics, the order's status and the trace show the slowdown; nothing is handled twice; every order completes once the fault is lifted", async (t) => {
    system = await startSystem({
      services: [...ALL],
      env: {
        // SQL spans are opt-in (TRACE_SQL): on here, so that the trace names the slow call.
        payment: {
          FAULT_PAYMENT_SLOW_DB_MS: String(SLOW_MS),
          CONSUMER_ACK_WAIT_MS: String(ACK_WAIT_MS),
          TRACE_SQL: "true",
        },
        order: { ORDER_STALLED_AFTER_MS: "1500" },
      },
    });
    const s = system;
    const ids = await placeWhileSlow(s, 6);

    // The order's own status: waits on payment, for how long, stalled.
    const waiting = await waitForOrder(s.gatewayUrl, ids.at(-1)!, (o) => o.stalled, 10_000);
    assert.equal(waiting.status, "PENDING");
    assert.equal(waiting.waitingOn, "payment");
    assert.ok((waiting.waitingForMs ?? 0) > 1500, `waiting for ${waiting.waitingForMs} ms`);

    // Metrics: stalled orders by step; the consumer's lag and ack-pending; its processing time.
    const stalled = await waitFor("the stalled-orders metric", async () => {
      const v = sample(await scrape(s, "order"), "orders_stalled", { waiting_on: "payment" });
      return v && v > 0 ? v : undefined;
    });
    const backlog = await waitFor("the consumer's backlog in its metrics", async () => {
      const m = await scrape(s, "payment");
      const v =
        (sample(m, "consumer_pending_messages", PAYMENT) ?? 0) +
        (sample(m, "consumer_ack_pending_messages", PAYMENT) ?? 0);
      return v > 0 ? v : undefined;
    });
    const slow = await waitFor(
      "a slow processing time",
      async () => {
        const m = await scrape(s, "payment");
        const count = sample(m, "consumer_processing_seconds_count", { ...PAYMENT, outcome: "handled" }) ?? 0;
        const sum = sample(m, "consumer_processing_seconds_sum", { ...PAYMENT, outcome: "handled" }) ?? 0;
        return count > 0 ? sum / count : undefined;
      },
      { timeoutMs: 15_000 },
    );
    assert.ok(slow >= SLOW_MS / 1000, `mean processing ${slow.toFixed(2)} s`);

    // The trace: the payment process span and its slow query.
    const slowSpan = await waitFor("the slow span in the trace", () =>
      s.traces.spans.find(
        (sp) => sp.service === "payment" && sp.name === "process inventory.stock.reserved" && sp.durationMs >= SLOW_MS,
      ),
    );
    const slowQuery = s.traces.spans.find((sp) => sp.parentSpanId === slowSpan.spanId && sp.durationMs >= SLOW_MS);
    assert.ok(slowQuery, "the slow database call is a child of the process span");
    t.diagnostic(
      `(b) safeguards on: orders_stalled{waiting_on="payment"}=${stalled}, payment backlog ${backlog}, mean processing ${slow.toFixed(2)} s, span "${slowSpan.name}" ${slowSpan.durationMs} ms with child "${slowQuery.name}"`,
    );

    const during = await paymentConsumerInfo(s);
    assert.ok(during.num_ack_pending > 0, "messages are in progress");
    assert.equal(during.num_redelivered, 0, "in-progress acks: none of them was redelivered under AckWait");

    // Lift the fault: payment restarts (in-flight handlers finish first) without it.
    const payment = s.service("payment");
    await payment.stop();
    await payment.start({ FAULT_PAYMENT_SLOW_DB_MS: undefined });
    await assertCompletedOnce(s, ids, 60_000);

    const info = await paymentConsumerInfo(s);
    assert.equal(info.num_redelivered, 0, "in-progress acks: nothing was redelivered");
    assert.equal(
      sample(await scrape(s, "payment"), "consumer_messages_total", { ...PAYMENT, outcome: "duplicate" }),
      0,
      "no duplicate handled (the series exists from the start, at 0)",
    );
  });
});
