import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import { InvalidArgumentError, NotFoundError } from "./errors.js";
import { loadOrders, type OrderView } from "./order-view.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function getOrder(db: NodePgDatabase, orderId: string): Promise<OrderView> {
  // Not a UUID cannot name an order: not found, without asking Postgres to cast it.
  const [order] = UUID.test(orderId) ? await loadOrders(db, { ids: [orderId] }) : [];
  if (!order) throw new NotFoundError(`order ${JSON.stringify(orderId)} not found`);
  return order;
}

export const LIST_LIMIT = { default: 50, max: 500 };

export async function listOrders(db: NodePgDatabase, customerId: string, limit: number): Promise<OrderView[]> {
  if (!customerId) throw new InvalidArgumentError("customerId", "is required");
  if (limit > LIST_LIMIT.max) throw new InvalidArgumentError("limit", `must be at most ${LIST_LIMIT.max}`);
  return loadOrders(db, { customerId, limit: limit || LIST_LIMIT.default });
}
