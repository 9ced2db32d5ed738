/**
 * The system's shape, written once, as plain data: each service's name, role,
 * schema, NATS user, ports, and what it consumes and publishes. The harness,
 * `pnpm start`, the credentials, the fault switches' service names and the
 * services and streams tables of docs/architecture.md (`pnpm reference`) are
 * derived from it; what cannot be derived (docker-compose.yml,
 * infra/nats/users.conf, infra/postgres/roles.sql, infra/prometheus/prometheus.yml)
 * is checked against it by
 * tooling/checks/test/catalogue.test.ts, which names the file and the line
 * that disagree.
 */

export interface ServiceEntry {
  /** The folder under services/, the NATS user, the compose service, the OTel service name. */
  name: string;
  role: "edge" | "event-driven";
  /** What it owns, in words (the services table of docs/architecture.md is generated from this catalogue). */
  owns: string;
  /** Request-reply subjects it answers. */
  answers?: readonly string[];
  /** Request-reply subjects it asks. */
  asks?: readonly string[];
  /** Its own Postgres schema and role (none for the stateless gateway). */
  database?: { schema: string; role: string };
  /** The domain whose subjects it publishes (`<domain>.>`), if any. */
  publishes?: string;
  /** Its durable consumers: "<service>-<event>" on each subject. */
  consumes: { durable: string; subject: string }[];
  /** The HTTP port of /healthz, /readyz, /metrics (the API's too, for the gateway). */
  httpPort: number;
  grpcPort?: number;
}

export const SYSTEM = [
  {
    name: "order",
    role: "event-driven",
    owns: "`orders`: orders, items, timeline, idempotency keys, inbox, outbox",
    database: { schema: "orders", role: "order_svc" },
    publishes: "orders",
    consumes: [
      { durable: "order-stock-reserved", subject: "inventory.stock.reserved" },
      { durable: "order-stock-rejected", subject: "inventory.stock.rejected" },
      { durable: "order-payment-succeeded", subject: "payments.payment.succeeded" },
      { durable: "order-payment-failed", subject: "payments.payment.failed" },
      { durable: "order-notification-sent", subject: "notifications.notification.sent" },
    ],
    httpPort: 8081,
    grpcPort: 50051,
  },
  {
    name: "inventory",
    role: "event-driven",
    owns: "`inventory`: stock, reservations, inbox, outbox",
    answers: ["rpc.inventory.stock.get", "rpc.inventory.stock.list"],
    database: { schema: "inventory", role: "inventory_svc" },
    publishes: "inventory",
    consumes: [
      { durable: "inventory-order-placed", subject: "orders.order.placed" },
      { durable: "inventory-order-cancelled", subject: "orders.order.cancelled" },
      { durable: "inventory-order-confirmed", subject: "orders.order.confirmed" },
    ],
    httpPort: 8082,
  },
  {
    name: "payment",
    role: "event-driven",
    owns: "`payments`: charges (one per order), inbox, outbox",
    database: { schema: "payments", role: "payment_svc" },
    publishes: "payments",
    consumes: [{ durable: "payment-stock-reserved", subject: "inventory.stock.reserved" }],
    httpPort: 8083,
  },
  {
    name: "notification",
    role: "event-driven",
    owns: "`notifications`: notifications (one per order and kind), inbox, outbox",
    database: { schema: "notifications", role: "notification_svc" },
    publishes: "notifications",
    consumes: [
      { durable: "notification-order-confirmed", subject: "orders.order.confirmed" },
      { durable: "notification-order-cancelled", subject: "orders.order.cancelled" },
    ],
    httpPort: 8084,
  },
  {
    name: "gateway",
    role: "edge",
    owns: "nothing (stateless edge): HTTP API, validation, correlation ids, the retry policy",
    asks: ["rpc.inventory.stock.get", "rpc.inventory.stock.list"],
    consumes: [],
    httpPort: 8080,
  },
] as const satisfies readonly ServiceEntry[];

/**
 * The operator console (services/console): not a part of the order flow, so
 * not in SYSTEM (the harness, chaos and the alerts run SYSTEM), but in the
 * catalogue all the same: its own NATS user, its port, compose and the services table
 * check against this entry. It owns no schema: it reads orders through the
 * order service, consumers through NATS, the outboxes through each service's
 * /metrics.
 */
export const CONSOLE = {
  name: "console",
  httpPort: 8085,
  owns: "nothing (operator tool): orders via the order service, consumers via NATS, outboxes via `/metrics`, spans it receives; redrives dead letters",
} as const;

export type ServiceName = (typeof SYSTEM)[number]["name"];
export const SERVICE_NAMES = SYSTEM.map((s) => s.name) as ServiceName[];
export type DatabaseServiceName = Extract<(typeof SYSTEM)[number], { database: object }>["name"];

/**
 * The development credentials of the local stack (compose, `pnpm start`, the
 * harness), derived from the names: `<service>-dev-password`. Replace them
 * anywhere real.
 */
export const devPassword = (name: string) => `${name}-dev-password`;

export function service(name: ServiceName): ServiceEntry {
  return SYSTEM.find((s) => s.name === name) as ServiceEntry;
}
