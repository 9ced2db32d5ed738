import { EVENTS, StockRejectedSchema } from "@orderflow/contracts";
import { subscribe } from "@orderflow/messaging";
import { rejectForStock } from "../order-saga.js";

export const onStockRejected = subscribe({
  durable: "order-stock-rejected",
  subject: EVENTS.stockRejected.subject,
  schema: StockRejectedSchema,
  handler: ({ tx, event }) => rejectForStock(tx, event.orderId, event.reason),
});
