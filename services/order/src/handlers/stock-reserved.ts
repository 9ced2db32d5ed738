import { EVENTS, StockReservedSchema } from "@orderflow/contracts";
import { subscribe } from "@orderflow/messaging";
import { recordStockReserved } from "../order-saga.js";

export const onStockReserved = subscribe({
  durable: "order-stock-reserved",
  subject: EVENTS.stockReserved.subject,
  schema: StockReservedSchema,
  handler: ({ tx, event }) => recordStockReserved(tx, event),
});
