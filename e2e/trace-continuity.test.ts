/**
 * One order is one trace: from the gateway's HTTP request, over gRPC to the
 * order service, through its outbox and the relay, over NATS to every consumer
 * and back, with every parent link intact. Every service's log lines for the
 * order carry one correlation id (and that trace's ids).
 *
 *   pnpm e2e trace-continuity
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ReceivedSpan, startSystem, waitFor } from "@orderflow/stack";
import { authHeaders, notified, postOrder, waitForOrder } from "./support/api.js";
import { systemForSuite } from "./support/system.js";

const SERVICES = ["gateway", "order", "inventory", "payment", "notification"] as const;

describe("trace-continuity", () => {
  // Debug: a consumer's line per message is debug (its info line is one per batch, outside any one trace).
  const system = systemForSuite({
    env: Object.fromEntries(SERVICES.map((s) => [s, { LOG_LEVEL: "debug" }])),
  });

  it("when one order is placed, then the spans of all five services share one trace with unbroken parent links", async (t) => {
    const res = await fetch(`${system.gatewayUrl}/api/v1/orders`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "idempotency-key": "trace-1",
        "x-correlation-id": "corr-trace-1",
        ...(await authHeaders(system.gatewayUrl, "cust-trace")),
      },
      body: JSON.stringify({ customerId: "cust-trace", items: [{ sku: "KB-001", quantity: 1 }] }),
    });
    assert.equal(res.status, 201);
    const { orderId } = (await res.json()) as { orderId: string };
    await waitForOrder(system.gatewayUrl, orderId, (o) => o.status === "CONFIRMED" && notified(o));

    const gatewayLine = system
      .service("gateway")
      .jsonLines()
      .find((l) => l.correlationId === "corr-trace-1" && l.msg === "request completed");
    const traceId = String(gatewayLine?.traceId ?? "");
    assert.match(traceId, /^[0-9a-f]{32}$/, "the gateway's log line carries the trace id");

    const inTrace = () => system.traces.spans.filter((s) => s.traceId === traceId);
    // The last hop: the order service processes notifications.notification.sent.
    await waitFor("the whole trace to be exported", () =>
      inTrace().some((s) => s.service === "order" && s.name === "process notifications.notification.sent"),
    );
    await new Promise((r) => setTimeout(r, 300)); // the last batches
    const spans = inTrace();
    t.diagnostic(
      `trace ${traceId}: ${spans.length} spans from ${[...new Set(spans.map((s) => s.service))].join(", ")}`,
    );
    assert.deepEqual([...new Set(spans.map((s) => s.service))].sort(), [...SERVICES].sort());

    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const roots = spans.filter((s) => !s.parentSpanId);
    assert.equal(roots.length, 1, `one root: ${roots.map((r) => `${r.service}/${r.name}`).join(", ")}`);
    assert.equal(roots[0]?.service, "gateway");
    // The root is the HTTP server span, named by its route (one span per request at the gateway's edge).
    assert.equal(roots[0]?.name, "POST /api/v1/orders");
    assert.equal(roots[0]?.attributes["http.route"], "/api/v1/orders");
    const orphans = spans.filter((s) => s.parentSpanId && !byId.has(s.parentSpanId));
    assert.deepEqual(
      orphans.map((s) => `${s.service}/${s.name}`),
      [],
      "every other span's parent is in the trace",
    );

    const parentOf = (s: ReceivedSpan | undefined) => (s ? byId.get(s.parentSpanId) : undefined);
    const find = (service: string, name: string | RegExp) =>
      spans.find((s) => s.service === service && (typeof name === "string" ? s.name === name : name.test(s.name)));
    // Across gRPC: the order service's server span is a child of the gateway's client span.
    const grpcServer = find("order", /PlaceOrder/);
    assert.equal(parentOf(grpcServer)?.service, "gateway", "gRPC carries the context");
    // Across the outbox: the relay's publish continues the transaction's trace, in the order service.
    const publishPlaced = find("order", "publish orders.order.placed");
    assert.ok(publishPlaced, "the relay published inside the trace");
    // Across NATS: each consumer's process span is a child of a publish span in another service.
    for (const [service, subject] of [
      ["inventory", "orders.order.placed"],
      ["payment", "inventory.stock.reserved"],
      ["order", "payments.payment.succeeded"],
      ["notification", "orders.order.confirmed"],
    ] as const) {
      const process = find(service, `process ${subject}`);
      assert.equal(parentOf(process)?.name, `publish ${subject}`, `${service} continues the trace from NATS headers`);
    }
    assert.ok(
      spans.some(
        (s) =>
          s.service === "payment" && s.parentSpanId === find("payment", "process inventory.stock.reserved")?.spanId,
      ),
      "the handler's work (its event's publish) nests in its process span",
    );

    // Logs: each service's lines in this trace carry the one correlation id.
    for (const service of SERVICES) {
      const lines = system
        .service(service)
        .jsonLines()
        .filter((l) => l.traceId === traceId);
      assert.ok(lines.length > 0, `${service} logged inside the trace`);
      assert.deepEqual([...new Set(lines.map((l) => l.correlationId))], ["corr-trace-1"], `${service} correlation ids`);
      assert.ok(
        lines.every((l) => typeof l.spanId === "string"),
        `${service} lines carry spanId`,
      );
    }
  });

  it("when no collector listens, then the services still serve and complete the order", async () => {
    const dark = await startSystem({
      services: ["order", "inventory", "payment", "notification", "gateway"],
      env: Object.fromEntries(SERVICES.map((s) => [s, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1" }])),
    });
    try {
      const res = await postOrder(dark.gatewayUrl, {
        customerId: "cust-no-collector",
        items: [{ sku: "KB-001", quantity: 1 }],
      });
      assert.equal(res.status, 201);
      await waitForOrder(dark.gatewayUrl, res.body.orderId as string, (o) => o.status === "CONFIRMED" && notified(o));
      assert.equal(dark.traces.spans.length, 0, "nothing reached the harness's receiver");
    } finally {
      await dark.stop();
    }
  });
});
