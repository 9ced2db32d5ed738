import { EVENTS, PaymentFailedSchema } from "@orderflow/contracts";
import { subscribe } from "@orderflow/messaging";
import { cancelUnpaid } from "../order-saga.js";

export const onPaymentFailed = subscribe({
  durable: "order-payment-failed",
  subject: EVENTS.paymentFailed.subject,
  schema: PaymentFailedSchema,
  handler: ({ tx, event }) => cancelUnpaid(tx, event.orderId, event.reason),
});
