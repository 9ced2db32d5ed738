import { EVENTS, OrderConfirmedSchema } from "@orderflow/contracts";
import { subscribe } from "@orderflow/messaging";
import { commitStock } from "../release-stock.js";

export const onOrderConfirmed = subscribe({
  durable: "inventory-order-confirmed",
  subject: EVENTS.orderConfirmed.subject,
  schema: OrderConfirmedSchema,
  handler: ({ tx, event }) => commitStock(tx, event.orderId),
  replay: {
    replayable: true,
    how: "the handler itself: it settles only reservations still held, so a replay changes nothing already right",
  },
});
