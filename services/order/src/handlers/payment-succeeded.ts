import { EVENTS, PaymentSucceededSchema } from "@orderflow/contracts";
import { subscribe } from "@orderflow/messaging";
import { confirmPaid } from "../order-saga.js";

export const onPaymentSucceeded = subscribe({
  durable: "order-payment-succeeded",
  subject: EVENTS.paymentSucceeded.subject,
  schema: PaymentSucceededSchema,
  handler: ({ tx, event }) => confirmPaid(tx, event),
  replay: {
    replayable: true,
    how: "the handler itself: the saga records each result once: a replay changes nothing already recorded, and records a result that was lost",
  },
});
