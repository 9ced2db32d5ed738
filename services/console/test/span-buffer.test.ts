import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ORDER_ID_SPAN_ATTRIBUTE } from "@orderflow/contracts";
import { SpanBuffer } from "../src/span-buffer.js";

/** One OTLP/HTTP JSON export request of `service` with these spans. */
const exportOf = (service: string, spans: { traceId: string; spanId: string; start: number; orderId?: string }[]) => ({
  resourceSpans: [
    {
      resource: { attributes: [{ key: "service.name", value: { stringValue: service } }] },
      scopeSpans: [
        {
          spans: spans.map((s) => ({
            traceId: s.traceId,
            spanId: s.spanId,
            name: `span ${s.spanId}`,
            startTimeUnixNano: String(s.start * 1_000_000),
            endTimeUnixNano: String((s.start + 5) * 1_000_000),
            attributes: s.orderId ? [{ key: ORDER_ID_SPAN_ATTRIBUTE, value: { stringValue: s.orderId } }] : [],
          })),
        },
      ],
    },
  ],
});

describe("span buffer (the console's waterfall)", () => {
  it("when an order's placement span and later spans of its trace arrive, then the order's trace has them all, by start time", () => {
    const buffer = new SpanBuffer(100);
    buffer.add(exportOf("payment", [{ traceId: "t1", spanId: "c", start: 30 }]));
    buffer.add(exportOf("order", [{ traceId: "t1", spanId: "a", start: 10, orderId: "o-1" }]));
    buffer.add(exportOf("inventory", [{ traceId: "t2", spanId: "x", start: 20 }]));
    const trace = buffer.orderTrace("o-1");
    assert.equal(trace?.traceId, "t1");
    assert.deepEqual(
      trace?.spans.map((s) => [s.service, s.spanId, s.endMs - s.startMs]),
      [
        ["order", "a", 5],
        ["payment", "c", 5],
      ],
    );
    assert.equal(buffer.orderTrace("o-unknown"), undefined);
  });

  it("when more spans arrive than it holds, then the oldest go and the size stays at the bound", () => {
    const buffer = new SpanBuffer(100);
    for (let i = 0; i < 30; i++) {
      buffer.add(
        exportOf(
          "order",
          Array.from({ length: 10 }, (_, j) => ({ traceId: `t${i}`, spanId: `${i}-${j}`, start: i })),
        ),
      );
    }
    assert.equal(buffer.size, 100);
  });

  it("when the body is not an OTLP export, then it is refused with a message", () => {
    assert.throws(() => new SpanBuffer(10).add({ hello: 1 }), /resourceSpans/);
    assert.throws(() => new SpanBuffer(10).add(null), /resourceSpans/);
  });
});
