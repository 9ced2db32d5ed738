/**
 * Trace propagation through the outbox and NATS, by hand (no NATS
 * instrumentation exists for nats.js v3), following the OpenTelemetry
 * messaging conventions:
 *
 *   HTTP/gRPC span --writes--> outbox row (traceparent of that transaction)
 *     relay: "publish <subject>" (PRODUCER, child of the row's context)
 *       --headers traceparent/tracestate-->
 *     consumer: "process <subject>" (CONSUMER, child of the publish span)
 *       --its own outbox writes--> the next hop ...
 *
 * so one order is one trace, from the HTTP request through every consumer.
 * With no SDK registered these calls are no-ops.
 */
import {
  type Attributes,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";

const tracer = trace.getTracer("@orderflow/messaging");

export interface TraceHeaders {
  traceparent?: string;
  tracestate?: string;
}

/** The W3C context of the active span, to store with an outbox row. */
export function activeTraceHeaders(): TraceHeaders {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return {
    ...(carrier.traceparent ? { traceparent: carrier.traceparent } : {}),
    ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}),
  };
}

function contextOf(headers: TraceHeaders) {
  return propagation.extract(ROOT_CONTEXT, { ...headers });
}

async function inSpan<T>(
  name: string,
  kind: SpanKind,
  parent: TraceHeaders,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  options: Pick<SpanOptions, "root" | "links"> = {},
): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes, ...options }, contextOf(parent), async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * A "publish" span, child of the context stored with the outbox row; `fn` gets
 * the headers that carry the publish span to the consumers.
 */
export function withPublishSpan<T>(
  stored: TraceHeaders,
  message: { subject: string; id: string },
  fn: (outgoing: TraceHeaders) => Promise<T>,
): Promise<T> {
  return inSpan(
    `publish ${message.subject}`,
    SpanKind.PRODUCER,
    stored,
    {
      "messaging.system": "nats",
      "messaging.operation.type": "send",
      "messaging.operation.name": "publish",
      "messaging.destination.name": message.subject,
      "messaging.message.id": message.id,
    },
    () => fn(activeTraceHeaders()),
  );
}

/** A "process" span, child of the publish span whose context the message carries. */
export function withProcessSpan<T>(
  incoming: TraceHeaders,
  message: { subject: string; id: string; consumer: string; deliveryCount: number },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return inSpan(
    `process ${message.subject}`,
    SpanKind.CONSUMER,
    incoming,
    {
      "messaging.system": "nats",
      "messaging.operation.type": "process",
      "messaging.operation.name": "process",
      "messaging.destination.name": message.subject,
      "messaging.message.id": message.id,
      "messaging.consumer.group.name": message.consumer,
      "messaging.nats.delivery_count": message.deliveryCount,
    },
    fn,
  );
}

/**
 * A "replay" span: a new trace (a replay is its own operation, started by an
 * operator), LINKED to the original message's trace, so that each reprocessed
 * event can be followed back to the order it belongs to.
 */
export function withReplaySpan<T>(
  original: TraceHeaders,
  message: { subject: string; id: string; consumer: string; replayId: string; streamSequence: number },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const linked = trace.getSpanContext(contextOf(original));
  return inSpan(
    `replay ${message.subject}`,
    SpanKind.CONSUMER,
    {},
    {
      "messaging.system": "nats",
      "messaging.operation.type": "process",
      "messaging.operation.name": "replay",
      "messaging.destination.name": message.subject,
      "messaging.message.id": message.id,
      "messaging.consumer.group.name": message.consumer,
      "orderflow.replay.id": message.replayId,
      "orderflow.stream.sequence": message.streamSequence,
    },
    fn,
    { root: true, links: linked ? [{ context: linked, attributes: { "orderflow.link": "original message" } }] : [] },
  );
}
