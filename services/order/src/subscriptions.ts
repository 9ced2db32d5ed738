/**
 * What the order service consumes: the results that move an order on
 * (order-saga.ts records each one whichever comes first), and the
 * notification that closes its timeline. One subscription per subject.
 */
import { create } from "@bufbuild/protobuf";
import {
  EVENTS,
  NotificationSentSchema,
  PaymentFailedSchema,
  PaymentSucceededSchema,
  StockRejectedSchema,
  StockReservedSchema,
} from "@orderflow/contracts";
import type { Tx } from "@orderflow/db";
import { type Subscription, subscribe } from "@orderflow/messaging";
import type { OrderConfig } from "./config.js";
import {
  cancelUnpaid,
  confirmPaid,
  lockOrders,
  recordNotified,
  recordStockReserved,
  rejectForStock,
  repriceFromStockReserved,
} from "./order-saga.js";

/**
 * Every handler locks its order's row: a batch locks all of them first, in one statement and in
 * order-id order (so two batches never deadlock), and runs its handlers in that order.
 */
const BY_ORDER = {
  orderKey: (event: { orderId: string }) => event.orderId,
  lockBatch: (tx: Tx, events: { orderId: string }[]) =>
    lockOrders(
      tx,
      events.map((e) => e.orderId),
    ),
};

/** The saga's results are recorded once each: running one again changes nothing, and records one that was lost. */
const RECORDED_ONCE = {
  replayable: true,
  how: "the handler itself: the saga records each result once: a replay changes nothing already recorded, and records a result that was lost",
} as const;

export function orderSubscriptions(faults: OrderConfig["faults"]): Subscription[] {
  return [
    subscribe({
      durable: "order-stock-reserved",
      subject: EVENTS.stockReserved.subject,
      schema: StockReservedSchema,
      handler: ({ tx, event }) =>
        recordStockReserved(
          tx,
          faults.FAULT_ORDER_WRONG_UNIT_PRICES
            ? create(StockReservedSchema, {
                ...event,
                items: event.items.map((line) => ({ ...line, unitPriceCents: line.unitPriceCents * 10n })),
              })
            : event,
        ),
      batch: BY_ORDER,
      replay: {
        replayable: true,
        how: "recompute the lines' unit prices and the total from the event and overwrite them; status, timeline and events untouched",
        handler: ({ tx, event }) => repriceFromStockReserved(tx, event),
      },
    }),
    subscribe({
      durable: "order-stock-rejected",
      subject: EVENTS.stockRejected.subject,
      schema: StockRejectedSchema,
      handler: ({ tx, event }) => rejectForStock(tx, event.orderId, event.reason),
      batch: BY_ORDER,
      replay: RECORDED_ONCE,
    }),
    subscribe({
      durable: "order-payment-succeeded",
      subject: EVENTS.paymentSucceeded.subject,
      schema: PaymentSucceededSchema,
      handler: ({ tx, event }) => confirmPaid(tx, event),
      batch: BY_ORDER,
      replay: RECORDED_ONCE,
    }),
    subscribe({
      durable: "order-payment-failed",
      subject: EVENTS.paymentFailed.subject,
      schema: PaymentFailedSchema,
      handler: ({ tx, event }) => cancelUnpaid(tx, event.orderId, event.reason),
      batch: BY_ORDER,
      replay: RECORDED_ONCE,
    }),
    subscribe({
      durable: "order-notification-sent",
      subject: EVENTS.notificationSent.subject,
      schema: NotificationSentSchema,
      handler: ({ tx, event }) => recordNotified(tx, event.orderId, event.kind),
      batch: BY_ORDER,
      replay: {
        replayable: false,
        why: "it appends the 'notified' step to the timeline: run again, it would append it twice",
      },
    }),
  ];
}
