/**
 * The order service's metrics. Pending and stalled orders are read from the
 * orders table on each scrape: the publisher side's view of where orders wait.
 */

import { perScrape } from "@orderflow/observability";
import type pg from "pg";
import { Counter, Gauge, type Registry } from "prom-client";

/** The steps a pending order can wait on: each has its series from the start, at 0. */
export const WAITING_STEPS = ["stock", "payment"] as const;

export function createOrderMetrics(
  registry: Registry,
  pool: pg.Pool,
  stalledAfterMs: number,
  { waitingStatus = true }: { waitingStatus?: boolean } = {},
) {
  const registers = [registry];
  const ordersPlaced = new Counter({
    name: "orders_place_order_total",
    help: "PlaceOrder calls that succeeded, by outcome: placed (a new order) or replayed (the key's existing order)",
    labelNames: ["outcome"],
    registers,
  });
  for (const outcome of ["placed", "replayed"]) ordersPlaced.inc({ outcome }, 0);
  const ordersRefused = new Counter({
    name: "orders_admission_refused_total",
    help: "PlaceOrder calls refused by admission control (the system was behind: ADMISSION_MAX_PENDING_ORDERS)",
    registers,
  });
  ordersRefused.inc(0);
  // UNSAFE_ORDER_NO_WAITING_STATUS: the publisher side without its view of where orders wait.
  if (!waitingStatus) return { registry, ordersPlaced, ordersRefused };
  // One query per scrape, shared by orders_pending and orders_stalled.
  const pendingByStep = perScrape(async () => {
    const { rows } = await pool.query<{ waiting_on: string; pending: string; stalled: string }>(
      `SELECT coalesce(waiting_on, 'unknown') AS waiting_on, count(*) AS pending,
              count(*) FILTER (WHERE waiting_since < now() - make_interval(secs => $1::double precision)) AS stalled
         FROM orders.orders WHERE status = 'PENDING' GROUP BY 1`,
      [stalledAfterMs / 1000],
    );
    return rows;
  });
  new Gauge({
    name: "orders_pending",
    help: "Pending orders by the step they wait on (stock, payment)",
    labelNames: ["waiting_on"],
    registers,
    async collect() {
      this.reset();
      for (const step of WAITING_STEPS) this.set({ waiting_on: step }, 0); // every known series, from the start
      for (const r of await pendingByStep().catch(() => [])) this.set({ waiting_on: r.waiting_on }, Number(r.pending));
    },
  });
  new Gauge({
    name: "orders_stalled",
    help: "Pending orders waiting on one step longer than ORDER_STALLED_AFTER_MS, by step",
    labelNames: ["waiting_on"],
    registers,
    async collect() {
      this.reset();
      for (const step of WAITING_STEPS) this.set({ waiting_on: step }, 0);
      for (const r of await pendingByStep().catch(() => [])) this.set({ waiting_on: r.waiting_on }, Number(r.stalled));
    },
  });
  return { registry, ordersPlaced, ordersRefused };
}

export type OrderMetrics = ReturnType<typeof createOrderMetrics>;
