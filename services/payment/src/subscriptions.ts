/** What the payment service consumes: reserved stock, which it charges for. */
import { EVENTS, StockReservedSchema } from "@orderflow/contracts";
import { type Subscription, subscribe } from "@orderflow/messaging";
import { type ChargeOptions, chargePayment, readCharges } from "./charge-payment.js";
import type { PaymentProvider } from "./payment-provider.js";

export function paymentSubscriptions(provider: PaymentProvider, options: ChargeOptions = {}): Subscription[] {
  return [
    subscribe({
      durable: "payment-stock-reserved",
      subject: EVENTS.stockReserved.subject,
      schema: StockReservedSchema,
      handler: ({ tx, event }) => chargePayment(tx, event, provider, options),
      batch: {
        orderKey: (event) => event.orderId,
        // Which of the batch's orders are charged already: one read, not one insert per order.
        lockBatch: (tx, events) =>
          readCharges(
            tx,
            events.map((e) => e.orderId),
          ),
      },
      replay: {
        replayable: false,
        why: "it charges the customer's card: a charge must never happen twice (a wrong charge is corrected by a refund, not a replay)",
      },
    }),
  ];
}
