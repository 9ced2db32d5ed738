import { EVENTS, OrderCancelledSchema } from "@orderflow/contracts";
import { subscribe } from "@orderflow/messaging";
import { releaseStock } from "../release-stock.js";

export const onOrderCancelled = subscribe({
  durable: "inventory-order-cancelled",
  subject: EVENTS.orderCancelled.subject,
  schema: OrderCancelledSchema,
  handler: ({ tx, event }) => releaseStock(tx, event.orderId),
  replay: {
    replayable: true,
    how: "the handler itself: it releases only reservations still held, so a replay changes nothing already right",
  },
});
