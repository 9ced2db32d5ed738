/** Reads orders with their items and timeline, as GetOrder, ListOrders and WatchOrder return them. */
import { and, asc, desc, eq, inArray, type SQL } from "drizzle-orm";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import { orderItems, orders, orderTimeline } from "./db/schema.js";

export interface OrderView {
  id: string;
  customerId: string;
  status: "PENDING" | "CONFIRMED" | "CANCELLED";
  paymentToken: string;
  totalCents: number | null;
  cancelReason: string | null;
  waitingOn: string | null;
  waitingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
  items: { sku: string; quantity: number; unitPriceCents: number | null }[];
  timeline: { step: string; detail: string; at: Date }[];
}

/** Which orders: by id, or the newest of one customer (or of every customer: `customerId` absent), optionally in one status. */
export type OrderQuery = { ids: string[] } | { customerId?: string; status?: OrderView["status"]; limit: number };

export async function loadOrders(db: NodePgDatabase, where: OrderQuery) {
  const filters = (w: Exclude<OrderQuery, { ids: string[] }>): SQL | undefined =>
    and(
      w.customerId === undefined ? undefined : eq(orders.customerId, w.customerId),
      w.status === undefined ? undefined : eq(orders.status, w.status),
    );
  const rows =
    "ids" in where
      ? await db.select().from(orders).where(inArray(orders.id, where.ids))
      : await db
          .select()
          .from(orders)
          .where(filters(where))
          .orderBy(desc(orders.createdAt), desc(orders.id))
          .limit(where.limit);
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [items, steps] = await Promise.all([
    db.select().from(orderItems).where(inArray(orderItems.orderId, ids)).orderBy(asc(orderItems.lineNo)),
    db
      .select()
      .from(orderTimeline)
      .where(inArray(orderTimeline.orderId, ids))
      .orderBy(asc(orderTimeline.at), asc(orderTimeline.id)),
  ]);
  return rows.map(
    (row): OrderView => ({
      ...row,
      items: items
        .filter((i) => i.orderId === row.id)
        .map(({ sku, quantity, unitPriceCents }) => ({ sku, quantity, unitPriceCents })),
      timeline: steps.filter((s) => s.orderId === row.id).map(({ step, detail, at }) => ({ step, detail, at })),
    }),
  );
}
