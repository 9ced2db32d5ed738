import { EVENTS, PaymentFailedSchema } from "@orderflow/contracts";
import { subscribe } from "@orderflow/messaging";
import { cancelUnpaid } from "../order-saga.js";

export const onPaymentFailed = subscribe({
  durable: "order-payment-failed",
  subject: EVENTS.paymentFailed.subject,
  schema: PaymentFailedSchema,
  handler: ({ tx, event }) => cancelUnpaid(tx, event.orderId, event.reason),
  replay: {
    replayable: true,
    how: "the handler itself: the saga records each result once: a replay changes nothing already recorded, and records a result that was lost",
  },
});
