/**
 * Spans as the services export them (OTLP/HTTP, JSON encoding), kept in a
 * bounded buffer so that an order's waterfall needs no Jaeger: the oldest
 * spans go first once `capacity` is reached. An order's trace is found by the
 * attribute PlaceOrder sets on its span (ORDER_ID_SPAN_ATTRIBUTE).
 */
import { ORDER_ID_SPAN_ATTRIBUTE } from "@orderflow/contracts";

export interface BufferedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  service: string;
  startMs: number;
  endMs: number;
  /** Error status (OTLP status code 2). */
  error: boolean;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttribute {
  key: string;
  value?: OtlpValue;
}
interface OtlpSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: OtlpAttribute[];
  status?: { code?: number };
}
interface OtlpTraces {
  resourceSpans?: { resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

const stringOf = (attrs: OtlpAttribute[] | undefined, key: string) =>
  attrs?.find((a) => a.key === key)?.value?.stringValue;
const ms = (nanos: string | number | undefined) => Number(BigInt(nanos ?? 0) / 1_000_000n);

export class SpanBuffer {
  private readonly spans: BufferedSpan[] = [];
  private readonly traceOfOrder = new Map<string, string>();
  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.spans.length;
  }

  /** Takes one OTLP JSON export request; returns how many spans it held. Malformed input throws. */
  add(body: unknown): number {
    const request = body as OtlpTraces;
    if (typeof request !== "object" || request === null || !Array.isArray(request.resourceSpans)) {
      throw new Error("expected an OTLP ExportTraceServiceRequest in JSON (resourceSpans)");
    }
    let added = 0;
    for (const rs of request.resourceSpans) {
      const service = stringOf(rs.resource?.attributes, "service.name") ?? "unknown";
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          if (!s.traceId || !s.spanId) continue;
          this.spans.push({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? "",
            name: String(s.name ?? "").slice(0, 200),
            service,
            startMs: ms(s.startTimeUnixNano),
            endMs: ms(s.endTimeUnixNano),
            error: s.status?.code === 2,
          });
          const orderId = stringOf(s.attributes, ORDER_ID_SPAN_ATTRIBUTE);
          if (orderId) this.traceOfOrder.set(orderId, s.traceId);
          added++;
        }
      }
    }
    const excess = this.spans.length - this.capacity;
    if (excess > 0) this.spans.splice(0, excess);
    if (this.traceOfOrder.size > this.capacity) {
      const first = this.traceOfOrder.keys().next().value;
      if (first !== undefined) this.traceOfOrder.delete(first);
    }
    return added;
  }

  /** The trace of an order (its id and spans, by start time), if its placement's span arrived. */
  orderTrace(orderId: string): { traceId: string; spans: BufferedSpan[] } | undefined {
    const traceId = this.traceOfOrder.get(orderId);
    if (!traceId) return undefined;
    const spans = this.spans.filter((s) => s.traceId === traceId).sort((a, b) => a.startMs - b.startMs);
    return { traceId, spans };
  }
}
