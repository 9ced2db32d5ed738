import { ORDER_LIMITS } from "@orderflow/contracts";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import { InvalidArgumentError, NotFoundError } from "./errors.js";
import { loadOrders, type OrderView } from "./order-view.js";
import { checkString } from "./place-order-request.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A malformed id is the caller's mistake (INVALID_ARGUMENT), checked before any work; never echoed. */
export function checkOrderId(orderId: string): void {
  if (!orderId) throw new InvalidArgumentError("orderId", "is required");
  if (orderId.length > 36 || !UUID.test(orderId)) throw new InvalidArgumentError("orderId", "must be a UUID");
}

/** The answer for an unknown id, and for an order the caller may not see: the same words. */
export const notFoundMessage = (orderId: string) => `order ${orderId} not found`;

export async function getOrder(db: NodePgDatabase, orderId: string): Promise<OrderView> {
  checkOrderId(orderId);
  const [order] = await loadOrders(db, { ids: [orderId] });
  if (!order) throw new NotFoundError(notFoundMessage(orderId));
  return order;
}

export const LIST_LIMIT = ORDER_LIMITS.listLimit;

/** The newest orders of `customerId` (undefined: of every customer), optionally in one status. */
export async function listOrders(
  db: NodePgDatabase,
  customerId: string | undefined,
  limit: number,
  status?: OrderView["status"],
): Promise<OrderView[]> {
  if (customerId !== undefined) checkString("customerId", customerId, ORDER_LIMITS.customerId);
  if (limit > LIST_LIMIT.maximum) throw new InvalidArgumentError("limit", `must be at most ${LIST_LIMIT.maximum}`);
  return loadOrders(db, { customerId, status, limit: limit || LIST_LIMIT.default });
}
