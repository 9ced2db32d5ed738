import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { EVENTS } from "@orderflow/contracts";
import { waitFor } from "@orderflow/stack";
import { addToOutbox, startOutboxRelay } from "../src/index.js";
import { type MessagingFixture, messagingFixture, outbox } from "./fixture.js";

describe("trace propagation through the outbox and NATS (against Postgres and nats-server)", () => {
  let f: MessagingFixture;
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

  before(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    f = await messagingFixture();
  });
  after(async () => {
    await f.close();
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });

  it("when an event is written in a traced transaction, then publish and process spans continue that trace, parent to child", async () => {
    let handlerTraceId = "";
    const consumer = await f.consume(
      { durable: "t-trace", ackWaitMs: 5000, maxAckPending: 5 },
      {
        handler: async () => {
          handlerTraceId = trace.getActiveSpan()?.spanContext().traceId ?? "";
        },
      },
    );
    const relay = startOutboxRelay({ pool: f.pool, js: f.js, schema: "msgtest", logger: f.logger });
    try {
      const root = trace.getTracer("test").startSpan("POST /api/v1/orders", { kind: SpanKind.SERVER });
      await context.with(trace.setSpan(context.active(), root), () =>
        f.db.transaction((tx) => addToOutbox(tx, outbox, EVENTS.orderPlaced, { orderId: "traced-1" })),
      );
      root.end();
      await waitFor("the process span", () => exporter.getFinishedSpans().some((s) => s.name.startsWith("process ")));

      const spans = exporter.getFinishedSpans();
      const publish = spans.find((s) => s.name === "publish orders.order.placed");
      const process = spans.find((s) => s.name === "process orders.order.placed");
      const rootId = root.spanContext();
      assert.ok(publish && process);
      assert.equal(publish.spanContext().traceId, rootId.traceId);
      assert.equal(publish.parentSpanContext?.spanId, rootId.spanId, "publish is a child of the transaction's span");
      assert.equal(publish.kind, SpanKind.PRODUCER);
      assert.equal(process.spanContext().traceId, rootId.traceId);
      assert.equal(process.parentSpanContext?.spanId, publish.spanContext().spanId, "process is a child of publish");
      assert.equal(process.kind, SpanKind.CONSUMER);
      assert.equal(process.attributes["messaging.consumer.group.name"], "t-trace");
      assert.equal(process.attributes["messaging.destination.name"], "orders.order.placed");
      assert.equal(handlerTraceId, rootId.traceId, "the handler runs inside the process span");
    } finally {
      await relay.stop();
      await consumer.stop();
    }
  });
});
