/**
 * What every event message carries besides its protobuf payload.
 *
 * - Nats-Msg-Id: the outbox row id; JetStream drops a second publish of it
 *   within the stream's duplicate window (a relay that crashed after
 *   publishing and before marking the row).
 * - X-Event-Id: set only on a redriven dead letter, whose Nats-Msg-Id must be
 *   new to pass the duplicate window; it keeps the event's identity so that
 *   consumers' inboxes still recognise it. The event id is X-Event-Id when
 *   present, Nats-Msg-Id otherwise.
 * - X-Correlation-ID, X-Causation-ID (the id of the message that caused this
 *   one), X-Event-Type, traceparent / tracestate.
 */

import { headers, type MsgHdrs } from "@nats-io/transport-node";
import { HEADERS } from "@orderflow/contracts";
import type { OutboxHeaders } from "./outbox.js";

/** Headers of a relayed outbox row (Nats-Msg-Id is set by the publish's msgID option). */
export function outboxMessageHeaders(stored: OutboxHeaders): MsgHdrs {
  const h = headers();
  h.set(HEADERS.eventType, stored.eventType);
  if (stored.correlationId) h.set(HEADERS.correlationId, stored.correlationId);
  if (stored.causationId) h.set(HEADERS.causationId, stored.causationId);
  if (stored.traceparent) h.set(HEADERS.traceparent, stored.traceparent);
  if (stored.tracestate) h.set(HEADERS.tracestate, stored.tracestate);
  return h;
}

export interface EventMeta {
  eventId: string;
  eventType: string;
  correlationId: string;
  causationId: string;
  traceparent: string;
  tracestate: string;
}

export function readEventMeta(h: MsgHdrs | undefined): EventMeta {
  const get = (k: string) => h?.get(k) ?? "";
  return {
    eventId: get(HEADERS.eventId) || get(HEADERS.messageId),
    eventType: get(HEADERS.eventType),
    correlationId: get(HEADERS.correlationId),
    causationId: get(HEADERS.causationId),
    traceparent: get(HEADERS.traceparent),
    tracestate: get(HEADERS.tracestate),
  };
}
