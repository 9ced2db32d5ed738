/**
 * The invariants a chaos run must keep, read as ground truth from every
 * service's tables (as the superuser) and from JetStream. Each is a count;
 * every count but the totals must be 0. It is shown able to fail by the
 * negative control in e2e/chaos.test.ts (the idempotency safeguard off).
 */
import type pg from "pg";
import type { ClientResult } from "./well-behaved-client.js";

export interface StockSnapshot {
  [sku: string]: number;
}

export interface InvariantCounts {
  /** Totals, for the report. */
  accepted: number;
  confirmed: number;
  cancelled: number;
  /** A key that got a 201 whose order is missing, or not CONFIRMED/CANCELLED. */
  lost: number;
  /** More than one order for one client order (one key, one customer id). */
  duplicatedOrders: number;
  /** More than one charge for an order. */
  duplicatedCharges: number;
  /** A final order without exactly one notification, or a notification for a pending one. */
  notificationsNotOnce: number;
  /** A confirmed order whose total is not its successful charge. */
  totalNotCharged: number;
  /** A cancelled order with a successful charge. */
  cancelledButCharged: number;
  /** A SKU where initial != available + reserved + sold, or anything negative, or stock still held. */
  stockNotConserved: number;
  /** An order whose timeline repeats a step or does not match its status. */
  timelineInconsistent: number;
  /** Outbox rows never published, in every schema. */
  outboxUndrained: number;
  deadLetters: number;
  /** Service exits that no fault caused. */
  diedOnTheirOwn: number;
}

export const VIOLATIONS: (keyof InvariantCounts)[] = [
  "lost",
  "duplicatedOrders",
  "duplicatedCharges",
  "notificationsNotOnce",
  "totalNotCharged",
  "cancelledButCharged",
  "stockNotConserved",
  "timelineInconsistent",
  "outboxUndrained",
  "deadLetters",
  "diedOnTheirOwn",
];

const CONFIRMED_STEPS = "placed,stock_reserved,payment_succeeded,confirmed,notified";
const CANCELLED_STEPS = [
  "placed,stock_rejected,cancelled,notified",
  "placed,stock_reserved,payment_failed,cancelled,notified",
];

export async function checkInvariants(
  db: pg.Pool,
  input: {
    results: ClientResult[];
    customerPrefix: string;
    initialStock: StockSnapshot;
    deadLetters: number;
    diedOnTheirOwn: number;
  },
): Promise<InvariantCounts> {
  const accepted = input.results.filter((r) => r.orderId);
  const ids = accepted.map((r) => r.orderId as string);
  const one = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params)).rows[0]?.n ?? 0);

  const lost = await one(
    `SELECT count(*) AS n FROM unnest($1::uuid[]) AS a(id)
       LEFT JOIN orders.orders o ON o.id = a.id
      WHERE o.id IS NULL OR o.status NOT IN ('CONFIRMED', 'CANCELLED')`,
    [ids],
  );
  const duplicatedOrders = await one(
    `SELECT count(*) AS n FROM (SELECT customer_id FROM orders.orders WHERE customer_id LIKE $1 || '%'
       GROUP BY customer_id HAVING count(*) > 1) d`,
    [input.customerPrefix],
  );
  const scope = `SELECT id, status, total_cents FROM orders.orders WHERE customer_id LIKE $1 || '%'`;
  const duplicatedCharges = await one(
    `SELECT count(*) AS n FROM (SELECT c.order_id FROM payments.charges c JOIN (${scope}) o ON o.id = c.order_id
       GROUP BY c.order_id HAVING count(*) > 1) d`,
    [input.customerPrefix],
  );
  const notificationsNotOnce = await one(
    `SELECT count(*) AS n FROM (${scope}) o
       LEFT JOIN LATERAL (SELECT count(*) AS k FROM notifications.notifications n WHERE n.order_id = o.id) n ON true
      WHERE (o.status = 'PENDING' AND n.k > 0) OR (o.status <> 'PENDING' AND n.k <> 1)`,
    [input.customerPrefix],
  );
  const totalNotCharged = await one(
    `SELECT count(*) AS n FROM (${scope}) o
       LEFT JOIN payments.charges c ON c.order_id = o.id AND c.status = 'succeeded'
      WHERE o.status = 'CONFIRMED' AND (c.id IS NULL OR c.amount_cents IS DISTINCT FROM o.total_cents)`,
    [input.customerPrefix],
  );
  const cancelledButCharged = await one(
    `SELECT count(*) AS n FROM (${scope}) o
       JOIN payments.charges c ON c.order_id = o.id AND c.status = 'succeeded'
      WHERE o.status = 'CANCELLED'`,
    [input.customerPrefix],
  );
  const timelineInconsistent = await one(
    `SELECT count(*) AS n FROM (${scope}) o
       JOIN LATERAL (SELECT string_agg(step, ',' ORDER BY at, id) AS steps FROM orders.order_timeline t
                      WHERE t.order_id = o.id) t ON true
      WHERE (o.status = 'CONFIRMED' AND t.steps <> $2)
         OR (o.status = 'CANCELLED' AND NOT (t.steps = ANY($3::text[])))`,
    [input.customerPrefix, CONFIRMED_STEPS, CANCELLED_STEPS],
  );

  // Stock: what was there at the start = what is available + still reserved + sold (confirmed).
  const { rows: stockRows } = await db.query<{ sku: string; available: number; reserved: number; sold: string }>(
    `SELECT s.sku, s.available, s.reserved,
            coalesce((SELECT sum(i.quantity) FROM orders.order_items i JOIN orders.orders o ON o.id = i.order_id
                       WHERE i.sku = s.sku AND o.status = 'CONFIRMED'), 0) AS sold
       FROM inventory.stock s`,
  );
  const stockNotConserved = stockRows.filter((s) => {
    const initial = input.initialStock[s.sku];
    return (
      initial === undefined ||
      s.available < 0 ||
      s.reserved !== 0 || // every order is final: nothing may still be held
      initial !== s.available + s.reserved + Number(s.sold)
    );
  }).length;

  let outboxUndrained = 0;
  for (const schema of ["orders", "inventory", "payments", "notifications"]) {
    outboxUndrained += await one(`SELECT count(*) AS n FROM "${schema}".outbox WHERE published_at IS NULL`);
  }
  const statuses = await db.query<{ status: string; n: string }>(
    `SELECT status, count(*) AS n FROM orders.orders WHERE customer_id LIKE $1 || '%' GROUP BY status`,
    [input.customerPrefix],
  );
  const byStatus = Object.fromEntries(statuses.rows.map((r) => [r.status, Number(r.n)]));
  return {
    accepted: accepted.length,
    confirmed: byStatus.CONFIRMED ?? 0,
    cancelled: byStatus.CANCELLED ?? 0,
    lost,
    duplicatedOrders,
    duplicatedCharges,
    notificationsNotOnce,
    totalNotCharged,
    cancelledButCharged,
    stockNotConserved,
    timelineInconsistent,
    outboxUndrained,
    deadLetters: input.deadLetters,
    diedOnTheirOwn: input.diedOnTheirOwn,
  };
}

export function violations(counts: InvariantCounts): string[] {
  return VIOLATIONS.filter((k) => counts[k] !== 0).map((k) => `${k}=${counts[k]}`);
}
