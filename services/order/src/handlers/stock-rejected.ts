import { EVENTS, StockRejectedSchema } from "@orderflow/contracts";
import { subscribe } from "@orderflow/messaging";
import { rejectForStock } from "../order-saga.js";

export const onStockRejected = subscribe({
  durable: "order-stock-rejected",
  subject: EVENTS.stockRejected.subject,
  schema: StockRejectedSchema,
  handler: ({ tx, event }) => rejectForStock(tx, event.orderId, event.reason),
  replay: {
    replayable: true,
    how: "the handler itself: the saga records each result once: a replay changes nothing already recorded, and records a result that was lost",
  },
});
