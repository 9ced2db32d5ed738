import { Counter, collectDefaultMetrics, Registry } from "prom-client";

export function createOrderMetrics() {
  const registry = new Registry();
  registry.setDefaultLabels({ service: "order" });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    ordersPlaced: new Counter({
      name: "orders_place_order_total",
      help: "PlaceOrder calls that succeeded, by outcome: placed (a new order) or replayed (the key's existing order)",
      labelNames: ["outcome"],
      registers: [registry],
    }),
  };
}

export type OrderMetrics = ReturnType<typeof createOrderMetrics>;
