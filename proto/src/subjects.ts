/**
 * The event catalogue: each domain event's NATS subject and protobuf schema.
 * Subjects are `<domain>.<aggregate>.<event>`, lowercase; one stream per domain.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import {
  NotificationSentSchema,
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
  PaymentFailedSchema,
  PaymentSucceededSchema,
  StockRejectedSchema,
  StockReleasedSchema,
  StockReservedSchema,
} from "./gen/orderflow/events/v1/events_pb.js";

export const EVENTS = {
  orderPlaced: { subject: "orders.order.placed", schema: OrderPlacedSchema },
  orderConfirmed: { subject: "orders.order.confirmed", schema: OrderConfirmedSchema },
  orderCancelled: { subject: "orders.order.cancelled", schema: OrderCancelledSchema },
  stockReserved: { subject: "inventory.stock.reserved", schema: StockReservedSchema },
  stockRejected: { subject: "inventory.stock.rejected", schema: StockRejectedSchema },
  stockReleased: { subject: "inventory.stock.released", schema: StockReleasedSchema },
  paymentSucceeded: { subject: "payments.payment.succeeded", schema: PaymentSucceededSchema },
  paymentFailed: { subject: "payments.payment.failed", schema: PaymentFailedSchema },
  notificationSent: { subject: "notifications.notification.sent", schema: NotificationSentSchema },
} as const satisfies Record<string, { subject: string; schema: DescMessage }>;

/** One JetStream stream per domain, plus the dead-letter stream. */
export const STREAMS = {
  ORDERS: "orders.>",
  INVENTORY: "inventory.>",
  PAYMENTS: "payments.>",
  NOTIFICATIONS: "notifications.>",
  DEAD_LETTERS: "deadletter.>",
} as const;

/**
 * Request-reply subjects answered by the inventory service. They stay outside
 * every stream's subjects: under `inventory.>` JetStream would store each
 * request and answer it with a publish ack.
 */
export const INVENTORY_QUERIES = {
  getStock: "rpc.inventory.stock.get",
  listStock: "rpc.inventory.stock.list",
} as const;

/**
 * Every header name of the system, in one place. What each means and who sets
 * it: packages/messaging/src/message-headers.ts (events), dead-letters.ts.
 */
export const HEADERS = {
  /** The outbox row id: JetStream's dedup key, and the event id. */
  messageId: "Nats-Msg-Id",
  /** Set on a redriven dead letter only: the event's id, kept when Nats-Msg-Id must be new. */
  eventId: "X-Event-Id",
  correlationId: "X-Correlation-ID",
  causationId: "X-Causation-ID",
  eventType: "X-Event-Type",
  traceparent: "traceparent",
  tracestate: "tracestate",
} as const;

/** What a dead letter adds to the failed message's headers: why, from where, when. */
export const DEAD_LETTER_HEADERS = {
  reason: "X-Dead-Letter-Reason",
  originalSubject: "X-Original-Subject",
  consumer: "X-Consumer",
  deliveryCount: "X-Delivery-Count",
  deadLetteredAt: "X-Dead-Lettered-At",
} as const;

/** The correlation id on HTTP (the gateway) and in gRPC metadata (keys are lowercase). */
export const CORRELATION_METADATA_KEY = "x-correlation-id";

/**
 * gRPC trailing metadata of a RESOURCE_EXHAUSTED answer: seconds the caller
 * should wait before asking again (the gateway's Retry-After).
 */
export const RETRY_AFTER_METADATA_KEY = "retry-after";

/**
 * gRPC metadata of every OrderService call: the caller's bearer token,
 * "Bearer <jwt>" (the order service verifies it itself).
 */
export const AUTHORIZATION_METADATA_KEY = "authorization";

/** The span attribute that names the order a placement's trace is about (set by PlaceOrder). */
export const ORDER_ID_SPAN_ATTRIBUTE = "orderflow.order_id";
