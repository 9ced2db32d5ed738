import { EVENTS, OrderCancelledSchema } from "@orderflow/contracts";
import { subscribe } from "@orderflow/messaging";
import { releaseStock } from "../release-stock.js";

export const onOrderCancelled = subscribe({
  durable: "inventory-order-cancelled",
  subject: EVENTS.orderCancelled.subject,
  schema: OrderCancelledSchema,
  handler: ({ tx, event }) => releaseStock(tx, event.orderId),
});
