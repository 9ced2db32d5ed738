/**
 * One chaos run: its own Postgres server and nats-server, the five services
 * as separate processes under the supervisor, a paced load of well-behaved
 * clients, faults on a schedule, then a drain and the invariants. Used by
 * `pnpm e2e chaos` (small, with its negative control) and `pnpm chaos`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { listDeadLetters } from "@orderflow/messaging";
import { asOperator, SERVICE_NAMES, type ServiceName, type System, startSystem } from "@orderflow/stack";
import pg from "pg";
import { checkInvariants, type InvariantCounts, type StockSnapshot, violations } from "./check-invariants.js";
import { type Fault, type FaultLogEntry, runFaultSchedule } from "./fault-schedule.js";
import { type ClientResult, makeOrder, placeUntilAnswered } from "./well-behaved-client.js";

export interface ChaosOptions {
  orders: number;
  /** Orders started per second, at most. */
  ratePerSecond: number;
  /**
   * Clients at once (default 64): a new order waits for a free client. Real
   * clients are a bounded population; an unbounded open loop would only
   * measure how a retry storm grows once the system falls behind.
   */
  maxClients?: number;
  /** Time between two faults; 0 runs no faults (the negative control may). */
  faultEveryMs: number;
  /** A three-node JetStream cluster with R3 streams instead of one nats-server. */
  natsCluster?: boolean;
  /** Runs after the drain, before the system stops: extra figures for the report. */
  afterDrain?: (system: System, db: pg.Pool, faults: FaultLogEntry[]) => Promise<Record<string, unknown>>;
  /** Processes per service (default 1); the clients spread over the gateways. */
  replicas?: number;
  /** The fault cycle (default FAULT_CYCLE: every process, the broker, the database). */
  faults?: Fault[];
  /** Repeat the cycle while the load lasts (default true); false: each fault once. */
  repeatFaults?: boolean;
  /** Extra variables per service: the negative control's unsafe toggle. */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  /** How long every accepted order has to reach its final state after the load. */
  drainBudgetMs?: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  counts: InvariantCounts;
  violations: string[];
  faults: FaultLogEntry[];
  /** Client-side: answers other than 201, and how many attempts the clients needed. */
  clients: { notAccepted: number; retriedOrders: number; maxAttempts: number };
  loadSeconds: number;
  drainSeconds: number;
  restarts: Record<string, number>;
  /** Per process: the work its log says it did (orders placed, events handled, requests answered). */
  shares: Record<string, number>;
  extra: Record<string, unknown>;
}

/** What each process did, counted from its log lines (a batch counts the events it handled). */
function workShares(processes: { label: string; jsonLines(): Record<string, unknown>[] }[]): Record<string, number> {
  const work = (l: Record<string, unknown>) =>
    l.msg === "batch done"
      ? Number(l.handled ?? 0)
      : Number(
          l.msg === "event handled" ||
            l.msg === "order placed" ||
            (l.msg === "request completed" && l.method === "POST"),
        );
  return Object.fromEntries(processes.map((p) => [p.label, p.jsonLines().reduce((sum, l) => sum + work(l), 0)]));
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const runId = Date.now().toString(36);
  const t0 = Date.now();
  const stamp = () => `+${((Date.now() - t0) / 1000).toFixed(1)}s`;
  const replicas = options.replicas ?? 1;
  const system = await startSystem({
    services: [...SERVICE_NAMES],
    replicas: Object.fromEntries(SERVICE_NAMES.map((name) => [name, replicas])),
    postgres: "private",
    supervise: true,
    natsCluster: options.natsCluster,
    env: {
      ...options.env,
      // Consumers see each restart quickly: a 5 s AckWait instead of 30 s.
      order: { CONSUMER_ACK_WAIT_MS: "5000", ...options.env?.order },
      inventory: { CONSUMER_ACK_WAIT_MS: "5000", ...options.env?.inventory },
      payment: { CONSUMER_ACK_WAIT_MS: "5000", ...options.env?.payment },
      notification: { CONSUMER_ACK_WAIT_MS: "5000", ...options.env?.notification },
    },
  });
  const db = new pg.Pool({ connectionString: system.database.url, max: 2 });
  db.on("error", () => {}); // the Postgres fault drops these too
  try {
    log(`${stamp()} system ready (own Postgres on :${system.postgres?.port}, nats-server on :${system.nats.port})`);
    // Plenty of stock, except the scarce lamp, so that most orders can confirm.
    await db.query("UPDATE inventory.stock SET available = 1000000 WHERE sku <> 'LT-001'");
    const { rows } = await db.query<{ sku: string; total: number }>(
      "SELECT sku, available + reserved AS total FROM inventory.stock",
    );
    const initialStock: StockSnapshot = Object.fromEntries(rows.map((r) => [r.sku, r.total]));

    // The load: one order every 1/rate s, each retried by its client until answered.
    let loadDone = false;
    const loadStarted = Date.now();
    const pending: Promise<ClientResult>[] = [];
    const maxClients = options.maxClients ?? 64;
    const busy = new Set<Promise<ClientResult>>();
    const load = (async () => {
      for (let n = 0; n < options.orders; n++) {
        const due = loadStarted + (n * 1000) / options.ratePerSecond;
        if (due > Date.now()) await sleep(due - Date.now());
        while (busy.size >= maxClients) await Promise.race(busy);
        // Each attempt goes to one of the gateways, as behind a load balancer.
        const gateway = () => system.gatewayUrls[Math.floor(Math.random() * system.gatewayUrls.length)] as string;
        const client = placeUntilAnswered(gateway, makeOrder(runId, n), { budgetMs: 600_000 });
        busy.add(client);
        void client.finally(() => busy.delete(client));
        pending.push(client);
        if ((n + 1) % 1000 === 0) log(`${stamp()} ${n + 1} orders sent`);
      }
    })();
    const faults =
      options.faultEveryMs > 0
        ? runFaultSchedule(system, {
            faults: options.faults,
            repeat: options.repeatFaults,
            everyMs: options.faultEveryMs,
            until: () => loadDone,
            log: (e) => log(`${stamp()} fault: ${e.fault} (${e.tookMs} ms)`),
          })
        : Promise.resolve([]);
    await load;
    loadDone = true;
    const faultLog = await faults;
    const results = await Promise.all(pending);
    const loadSeconds = (Date.now() - loadStarted) / 1000;
    log(`${stamp()} load done: ${results.filter((r) => r.orderId).length}/${results.length} accepted`);

    // Every service back, then the drain: each accepted order final and notified, outboxes empty.
    const processes = SERVICE_NAMES.flatMap((name) =>
      Array.from({ length: replicas }, (_, i) => system.replica(name, i + 1)),
    );
    await Promise.all(processes.map((p) => p.whenReady()));
    const drainStarted = Date.now();
    const ids = results.flatMap((r) => (r.orderId ? [r.orderId] : []));
    const drained = async () => {
      const { rows: left } = await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM unnest($1::uuid[]) AS a(id)
           LEFT JOIN orders.orders o ON o.id = a.id
          WHERE o.id IS NULL OR o.status = 'PENDING'
             OR NOT EXISTS (SELECT 1 FROM orders.order_timeline t WHERE t.order_id = a.id AND t.step = 'notified')`,
        [ids],
      );
      const { rows: outboxes } = await db.query<{ n: string }>(
        `SELECT (SELECT count(*) FROM orders.outbox WHERE published_at IS NULL)
              + (SELECT count(*) FROM inventory.outbox WHERE published_at IS NULL)
              + (SELECT count(*) FROM payments.outbox WHERE published_at IS NULL)
              + (SELECT count(*) FROM notifications.outbox WHERE published_at IS NULL) AS n`,
      );
      // Inventory settles each final order's reservation on its own consumer (it can lag the
      // notification after a broker fault): drained means nothing is still held.
      const { rows: held } = await db.query<{ n: string }>(
        "SELECT count(*) AS n FROM inventory.reservations WHERE status = 'reserved'",
      );
      return Number(left[0]?.n) === 0 && Number(outboxes[0]?.n) === 0 && Number(held[0]?.n) === 0;
    };
    const drainDeadline = Date.now() + (options.drainBudgetMs ?? 180_000);
    while (Date.now() < drainDeadline && !(await drained().catch(() => false))) await sleep(500);
    // Let the last in-flight messages settle (acks, late duplicates) before counting.
    await sleep(2000);
    const drainSeconds = (Date.now() - drainStarted) / 1000;
    log(`${stamp()} drained in ${drainSeconds.toFixed(1)} s`);

    const deadLetters = (await asOperator(system.nats.url, ({ jsm }) => listDeadLetters(jsm))).length;
    const exits = processes.flatMap((p) => p.exits);
    const extra = (await options.afterDrain?.(system, db, faultLog)) ?? {};
    const counts = await checkInvariants(db, {
      results,
      customerPrefix: `chaos-${runId}-`,
      initialStock,
      deadLetters,
      diedOnTheirOwn: exits.filter((e) => e.cause === "died").length,
    });
    return {
      counts,
      violations: violations(counts),
      faults: faultLog,
      clients: {
        notAccepted: results.filter((r) => !r.orderId).length,
        retriedOrders: results.filter((r) => r.attempts > 1).length,
        maxAttempts: Math.max(0, ...results.map((r) => r.attempts)),
      },
      loadSeconds,
      drainSeconds,
      restarts: Object.fromEntries(processes.map((p) => [p.label, p.exits.length])),
      shares: workShares(processes),
      extra,
    };
  } finally {
    await db.end().catch(() => {});
    await system.stop();
  }
}

export function formatReport(report: ChaosReport): string {
  const c = report.counts;
  return [
    `orders accepted ${c.accepted} (confirmed ${c.confirmed}, cancelled ${c.cancelled}); not accepted ${report.clients.notAccepted}; ` +
      `orders that needed client retries ${report.clients.retriedOrders} (max attempts ${report.clients.maxAttempts})`,
    `faults ${report.faults.length}: ${Object.entries(
      report.faults.reduce<Record<string, number>>((counts, f) => {
        const kind = f.fault.split(",")[0] as string;
        counts[kind] = (counts[kind] ?? 0) + 1;
        return counts;
      }, {}),
    )
      .map(([kind, n]) => `${kind} x${n}`)
      .join("; ")}`,
    `service restarts ${JSON.stringify(report.restarts)}`,
    `work per process (orders placed, events handled, POSTs answered) ${JSON.stringify(report.shares)}`,
    `load ${report.loadSeconds.toFixed(1)} s (${(c.accepted / report.loadSeconds).toFixed(1)} accepted orders/s), drain ${report.drainSeconds.toFixed(1)} s`,
    `lost ${c.lost}, duplicated orders ${c.duplicatedOrders}, duplicated charges ${c.duplicatedCharges}, ` +
      `notifications not once ${c.notificationsNotOnce}, total not charged ${c.totalNotCharged}, ` +
      `cancelled but charged ${c.cancelledButCharged}, stock not conserved ${c.stockNotConserved}, ` +
      `timeline inconsistent ${c.timelineInconsistent}, outbox undrained ${c.outboxUndrained}, ` +
      `dead letters ${c.deadLetters}, died on their own ${c.diedOnTheirOwn}`,
    report.violations.length ? `INVARIANTS VIOLATED: ${report.violations.join(", ")}` : "every invariant holds",
  ].join("\n");
}
