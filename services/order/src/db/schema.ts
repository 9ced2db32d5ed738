/**
 * The order service's tables, all in its own `orders` schema. No other service
 * reads them: others learn about orders from events.
 */
import { messagingTables } from "@orderflow/messaging";
import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  check,
  index,
  integer,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";

export const ordersSchema = pgSchema("orders");

export const ORDER_STATUSES = ["PENDING", "CONFIRMED", "CANCELLED"] as const;
export type OrderStatusName = (typeof ORDER_STATUSES)[number];

export const orders = ordersSchema.table(
  "orders",
  {
    id: uuid("id").primaryKey(),
    customerId: text("customer_id").notNull(),
    status: text("status", { enum: ORDER_STATUSES }).notNull(),
    paymentToken: text("payment_token").notNull(),
    /** Known once stock is reserved (the inventory service prices the lines). */
    totalCents: bigint("total_cents", { mode: "number" }),
    cancelReason: text("cancel_reason"),
    /** While pending: the step the order waits on ("stock", "payment") and since when. */
    waitingOn: text("waiting_on"),
    waitingSince: timestamp("waiting_since", { withTimezone: true }),
    /**
     * The two results the saga waits for, recorded whichever arrives first
     * (they travel on different streams, with no order between them):
     * "reserved" | "rejected", and "succeeded" | "failed" with its detail.
     */
    stockResult: text("stock_result"),
    paymentResult: text("payment_result"),
    paymentDetail: text("payment_detail"),
    paymentAmountCents: bigint("payment_amount_cents", { mode: "number" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("orders_customer_idx").on(t.customerId, t.createdAt),
    // Admission control counts the pending orders several times a second: a small partial index.
    index("orders_pending_idx").on(t.createdAt).where(sql`${t.status} = 'PENDING'`),
    // The newest orders of every customer (the console's list, an operator's ListOrders).
    index("orders_created_idx").on(t.createdAt),
    check("orders_status_check", sql`${t.status} IN ('PENDING', 'CONFIRMED', 'CANCELLED')`),
  ],
);

export const orderItems = ordersSchema.table(
  "order_items",
  {
    orderId: uuid("order_id")
      .notNull()
      .references(() => orders.id),
    lineNo: integer("line_no").notNull(),
    sku: text("sku").notNull(),
    quantity: integer("quantity").notNull(),
    unitPriceCents: bigint("unit_price_cents", { mode: "number" }),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.lineNo] }), check("order_items_quantity_check", sql`${t.quantity} > 0`)],
);

/** Every step an order went through, with its time: what GetOrder shows the caller. */
export const orderTimeline = ordersSchema.table(
  "order_timeline",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    orderId: uuid("order_id")
      .notNull()
      .references(() => orders.id),
    step: text("step").notNull(),
    detail: text("detail").notNull().default(""),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("order_timeline_order_idx").on(t.orderId, t.at)],
);

/**
 * One row per idempotency key of one caller. The primary key is the guarantee:
 * two requests of one caller with one key cannot both insert, however they
 * race. Keys are per caller (`owner`: the token's issuer and subject, "<iss>
 * <sub>"), as the Idempotency-Key draft says (the resource owner defines
 * uniqueness): two callers choosing the same key get two orders, and neither
 * can see the other's. Rows written before callers were known have the owner
 * " <customerId>" (no issuer), which their customer still replays.
 * `request_hash` tells a retry (same request) from a misuse of the key
 * (another request). No foreign key to orders: the key is claimed before the
 * order row is written, in the same transaction.
 */
export const idempotencyKeys = ordersSchema.table(
  "idempotency_keys",
  {
    owner: text("owner").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    orderId: uuid("order_id").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  // created_at: retention prunes keys past IDEMPOTENCY_KEY_RETENTION_HOURS, a batch at a time.
  (t) => [primaryKey({ columns: [t.owner, t.key] }), index("idempotency_keys_created_idx").on(t.createdAt)],
);

/** The outbox, inbox and failure counts (created by the messaging package's migrations). */
export const messaging = messagingTables(ordersSchema);
