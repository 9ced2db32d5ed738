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

export type EventName = keyof typeof EVENTS;

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

/** Header names carried by every event message. */
export const HEADERS = {
  messageId: "Nats-Msg-Id",
  correlationId: "X-Correlation-ID",
  causationId: "X-Causation-ID",
  eventType: "X-Event-Type",
  traceparent: "traceparent",
  tracestate: "tracestate",
} as const;

/** gRPC metadata key for the correlation id (metadata keys are lowercase). */
export const CORRELATION_METADATA_KEY = "x-correlation-id";
