/**
 * The sample stage: what the bench reads from a running system between and
 * after loads: CPU time per process from /proc, Postgres commits, the orders
 * still pending and those final, placed-to-final times, relay and consumer
 * lags, each consumer's mean batch size from its /metrics.
 */
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { SERVICE_NAMES, type System } from "@orderflow/stack";
import type pg from "pg";
import { percentile, round } from "../load.js";

const TICK = 100; // USER_HZ: /proc's CPU times are in 1/100 s
const SCHEMAS = ["orders", "inventory", "payments", "notifications"];

function cpuTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0;
  }
}

function postgresPids(): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "postgres";
      } catch {
        return false;
      }
    });
}

export type CpuTicks = Record<string, number>;

/** CPU ms spent between two readings per process group, per `orders`. */
export const cpuMsPer = (before: CpuTicks, after: CpuTicks, orders: number) =>
  Object.fromEntries(
    Object.keys(after).map((k) => [k, round((((after[k] ?? 0) - (before[k] ?? 0)) * 1000) / TICK / orders, 2)]),
  );

export function probes(system: System, db: pg.Pool) {
  const scalar = async (sql: string, params: unknown[] = []) =>
    Number((await db.query<{ n: string }>(sql, params)).rows[0]?.n ?? 0);
  const pending = () => scalar("SELECT count(*) AS n FROM orders.orders WHERE status = 'PENDING'");
  const ms = (rows: { ms: number }[]) => rows.map((r) => Number(r.ms));
  /** A counter summed over every service's /metrics. */
  async function metricByService(name: string): Promise<Record<string, number>> {
    const by: Record<string, number> = {};
    for (const service of SERVICE_NAMES) {
      // The gateway serves /metrics on its API port (PORT); the others on their ops port (HTTP_PORT).
      const base =
        service === "gateway" ? system.gatewayUrl : `http://127.0.0.1:${system.service(service).env.HTTP_PORT}`;
      const text = await fetch(`${base}/metrics`).then(
        (r) => r.text(),
        () => "",
      );
      by[service] = 0;
      for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, "gm")))
        by[service] += Number(m[1]);
    }
    return by;
  }
  const metricTotal = async (name: string) => Object.values(await metricByService(name)).reduce((sum, n) => sum + n, 0);
  return {
    /** CPU ticks so far of every service, Postgres and nats-server. */
    cpu(): CpuTicks {
      const pids: Record<string, number[]> = {
        ...Object.fromEntries(SERVICE_NAMES.map((name) => [name, [system.service(name).pid ?? 0]])),
        postgres: postgresPids(),
        "nats-server": [system.nats.pid ?? 0],
      };
      return Object.fromEntries(
        Object.entries(pids).map(([k, list]) => [k, list.reduce((s, p) => s + cpuTicks(p), 0)]),
      );
    },
    commits: () => scalar("SELECT sum(xact_commit) AS n FROM pg_stat_database WHERE datname = current_database()"),
    finalOrders: () => scalar("SELECT count(*) AS n FROM orders.orders WHERE status <> 'PENDING'"),
    pending,
    /** Until no order is pending (or the timeout). */
    async drained(timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline && (await pending()) > 0) await sleep(250);
    },
    /** Placed to final (confirmed or cancelled), in ms, of every order created since `since`. */
    async placedToFinal(since: Date): Promise<number[]> {
      const { rows } = await db.query<{ ms: number }>(
        `SELECT extract(epoch FROM max(t.at) FILTER (WHERE t.step IN ('confirmed','cancelled'))
                                  - min(t.at) FILTER (WHERE t.step = 'placed')) * 1000 AS ms
           FROM orders.order_timeline t JOIN orders.orders o ON o.id = t.order_id
          WHERE o.created_at >= $1 GROUP BY t.order_id`,
        [since],
      );
      return ms(rows);
    },
    /** Relay lag (commit to JetStream's ack) of every event written since `since`. */
    async relayLags(since: Date): Promise<number[]> {
      const { rows } = await db.query<{ ms: number }>(
        `SELECT extract(epoch FROM published_at - created_at) * 1000 AS ms FROM (
           ${SCHEMAS.map((s) => `SELECT created_at, published_at FROM ${s}.outbox WHERE created_at >= $1`).join(" UNION ALL ")}) r
          WHERE published_at IS NOT NULL`,
        [since],
      );
      return ms(rows);
    },
    /** Consumer lag: published (JetStream acked the relay) to taken up by a consumer's transaction. */
    async consumerLags(since: Date): Promise<number[]> {
      const union = (table: string, cols: string) =>
        SCHEMAS.map((s) => `SELECT ${cols} FROM ${s}.${table}`).join(" UNION ALL ");
      const { rows } = await db.query<{ ms: number }>(
        `SELECT extract(epoch FROM i.processed_at - o.published_at) * 1000 AS ms
           FROM (${union("inbox", "event_id, processed_at")}) i
           JOIN (${union("outbox", "id::text AS id, published_at")}) o ON o.id = i.event_id
          WHERE o.published_at >= $1`,
        [since],
      );
      return ms(rows);
    },
    /** Statements sent to Postgres so far by every service (db_statements_total on each /metrics): one round trip each. */
    statements: () => metricTotal("db_statements_total"),
    /** The same, by service. */
    statementsByService: () => metricByService("db_statements_total"),
    /** Spans ended so far by every service (otel_spans_ended_total on each /metrics). */
    spans: () => metricTotal("otel_spans_ended_total"),
    /** The mean batch size of every consumer, from each event-driven service's /metrics (consumer_batch_size). */
    async meanBatchSizes(): Promise<Record<string, number>> {
      const sums = new Map<string, { sum: number; count: number }>();
      for (const name of SERVICE_NAMES.filter((n) => n !== "gateway")) {
        const url = `http://127.0.0.1:${system.service(name).env.HTTP_PORT}/metrics`;
        const text = await fetch(url).then(
          (r) => r.text(),
          () => "",
        );
        for (const m of text.matchAll(/^consumer_batch_size_(sum|count)\{([^}]*)\} ([0-9.e+]+)$/gm)) {
          const consumer = /consumer="([^"]+)"/.exec(m[2] as string)?.[1];
          if (!consumer) continue;
          const entry = sums.get(consumer) ?? { sum: 0, count: 0 };
          entry[m[1] as "sum" | "count"] += Number(m[3]);
          sums.set(consumer, entry);
        }
      }
      return Object.fromEntries(
        [...sums].filter(([, v]) => v.count > 0).map(([k, v]) => [k, round(v.sum / v.count, 1)]),
      );
    },
  };
}

export type Probes = ReturnType<typeof probes>;

export const p = (xs: number[], q: number) => round(percentile(xs, q));
