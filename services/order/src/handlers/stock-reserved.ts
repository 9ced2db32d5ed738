import { create } from "@bufbuild/protobuf";
import { EVENTS, StockReservedSchema } from "@orderflow/contracts";
import { subscribe } from "@orderflow/messaging";
import type { OrderConfig } from "../config.js";
import { recordStockReserved, repriceFromStockReserved } from "../order-saga.js";

export function onStockReserved(faults: OrderConfig["faults"]) {
  return subscribe({
    durable: "order-stock-reserved",
    subject: EVENTS.stockReserved.subject,
    schema: StockReservedSchema,
    handler: ({ tx, event }) =>
      recordStockReserved(
        tx,
        faults.FAULT_ORDER_WRONG_UNIT_PRICES
          ? create(StockReservedSchema, {
              ...event,
              items: event.items.map((line) => ({ ...line, unitPriceCents: line.unitPriceCents * 10n })),
            })
          : event,
      ),
    replay: {
      replayable: true,
      how: "recompute the lines' unit prices and the total from the event and overwrite them; status, timeline and events untouched",
      handler: ({ tx, event }) => repriceFromStockReserved(tx, event),
    },
  });
}
