/**
 * pnpm bench: the system measured against this machine's own Postgres ceiling,
 * in one run, printed as a table and a final JSON line.
 *
 * 1. The ceiling: pgbench on the same Postgres server, with the placement's
 *    core transaction (insert an order, insert an outbox row), and the same
 *    with pg_notify (a NOTIFY serializes commits cluster-wide).
 * 2. The system as the image runs it: compiled dist/ (run `pnpm build` first;
 *    this command does), default log level, telemetry on with OTLP export to
 *    an address where nothing listens; its own database and nats-server.
 * 3. Closed-loop load at rising concurrency: accepted orders/s, POST p50/p99,
 *    and completed sagas/s with the backlog at the end.
 * 4. The sustained rate: the highest open-loop rate whose backlog does not grow
 *    (searched up and down from the best closed-loop completion rate).
 * 5. Open loops at half the best accepted rate and at half the sustained rate:
 *    POST p50/p99, placed-to-final p50/p99, relay lag (commit to JetStream ack) p50/p99,
 *    consumer lag (JetStream ack to a consumer's transaction) p50/p99.
 * 6. Where the time goes: Postgres commits per completed saga (at the
 *    sustained rate, and at the best closed-loop level), CPU ms per accepted
 *    order for each service, Postgres, nats-server and the load generator
 *    itself; the mean batch size per consumer; idle RSS per service; the CPU
 *    one bearer-token verification takes (twice per order: gateway and order).
 * 7. Overload: an open loop at four times the sustained rate for
 *    --overload-seconds: completed/s during it, refusals (503 or 429 with
 *    Retry-After), any other 5xx, and how long after the load every accepted
 *    order is final. The admission bound it ran with is printed.
 *
 * The orders are a mix like traffic (several SKUs, one in four with two
 * lines, one in twenty with a declined card, one in twenty out of stock);
 * --hot-sku puts every order on one SKU instead (the one-row case).
 *
 * Figures are ratios to the ceiling measured in the same run: absolute numbers
 * move with whatever else the machine is doing.
 *
 *   pnpm bench [--seconds 15] [--levels 8,32,128] [--overload-seconds 60] [--hot-sku]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { createVerifier } from "@orderflow/auth";
import {
  createTestDatabase,
  freePort,
  REPO_ROOT,
  SERVICE_NAMES,
  type ServiceName,
  startSystem,
} from "@orderflow/stack";
import pg from "pg";
import { type Answer, percentile, postOrder, round, rssMb } from "./load.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "15" },
    levels: { type: "string", default: "8,32,128" },
    "skip-build": { type: "boolean", default: false },
    /** Every order for one SKU (the one-row case) instead of the usual mix. */
    "hot-sku": { type: "boolean", default: false },
    /** How long the overload step runs (an open loop at four times the sustained rate). */
    "overload-seconds": { type: "string", default: "60" },
    /** KEY=VALUE for every service, to measure one change (e.g. LOG_LEVEL=warn); repeatable. */
    "service-env": { type: "string", multiple: true, default: [] },
  },
});
const SERVICE_ENV = Object.fromEntries(
  (values["service-env"] as string[]).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
);
const SECONDS = Number(values.seconds);
const HOT_SKU = Boolean(values["hot-sku"]);
const OVERLOAD_SECONDS = Number(values["overload-seconds"]);
const LEVELS = String(values.levels).split(",").map(Number);
const serverUrl = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const TICK = 100; // USER_HZ: /proc's CPU times are in 1/100 s

// ---------------------------------------------------------------- the ceiling
function pgbenchBinary(): string {
  const found = spawnSync("sh", ["-c", "command -v pgbench"], { encoding: "utf8" }).stdout.trim();
  if (!found) throw new Error("pgbench not found: apt-get install postgresql-client (or postgresql)");
  return found;
}

async function ceiling(): Promise<{ orderOutboxTps: number; withNotifyTps: number; clients: number }> {
  const db = await createTestDatabase(serverUrl);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(`
    CREATE TABLE bench_orders (id uuid PRIMARY KEY, customer_id text NOT NULL, status text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE bench_outbox (id uuid PRIMARY KEY, subject text NOT NULL, payload bytea NOT NULL,
      headers jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz);`);
  await client.end();
  const base = `\\set id random(1, 1000000000)
BEGIN;
INSERT INTO bench_orders (id, customer_id, status) VALUES (gen_random_uuid(), 'c-' || :id, 'PENDING');
INSERT INTO bench_outbox (id, subject, payload, headers) VALUES (gen_random_uuid(), 'orders.order.placed', '\\x0a24'::bytea, '{"eventType":"x"}');
`;
  const dir = tmpdir();
  const plain = join(dir, `bench-plain-${process.pid}.sql`);
  const notify = join(dir, `bench-notify-${process.pid}.sql`);
  writeFileSync(plain, `${base}COMMIT;\n`);
  writeFileSync(notify, `${base}SELECT pg_notify('outbox_bench', '');\nCOMMIT;\n`);
  const url = new URL(db.url);
  const run = (file: string) => {
    const out = execFileSync(
      pgbenchBinary(),
      ["-n", "-c", "8", "-j", "2", "-T", String(Math.max(5, Math.round(SECONDS / 2))), "-f", file, db.url],
      { encoding: "utf8", env: { ...process.env, PGHOST: url.hostname, PGPORT: url.port } },
    );
    return Number(out.match(/tps = ([\d.]+)/)?.[1] ?? Number.NaN);
  };
  try {
    return { orderOutboxTps: run(plain), withNotifyTps: run(notify), clients: 8 };
  } finally {
    await db.drop();
  }
}

// ---------------------------------------------------------------- CPU and memory of processes
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

// ---------------------------------------------------------------- the load
interface LoadResult {
  accepted: number;
  failed: number;
  seconds: number;
  latencies: number[];
  /** A refusal with a Retry-After: admission control's 503 (/problems/system-busy) or the rate limit's 429. */
  refused: number;
  /** Any other 5xx (a 502 or 504 is the system drowning, not refusing). */
  otherErrors: number;
  /** Every answer that was not a 201, by status (0: no answer). */
  statuses: Record<string, number>;
}

/** A bearer token per customer of the mix (bench-0 .. bench-999), minted once the system runs. */
const TOKENS: string[] = [];
const post = (gatewayUrl: string, n: number) => postOrder(gatewayUrl, n, TOKENS, HOT_SKU);

function count(result: LoadResult, answer: Answer) {
  if (answer.status === 201) {
    result.accepted++;
    result.latencies.push(answer.ms);
    return;
  }
  result.failed++;
  const key = answer.type ? `${answer.status} ${answer.type}` : String(answer.status);
  result.statuses[key] = (result.statuses[key] ?? 0) + 1;
  const refusal = answer.status === 429 || (answer.status === 503 && answer.type === "/problems/system-busy");
  if (refusal && answer.retryAfterS !== undefined) result.refused++;
  else if (answer.status >= 500 || answer.status === 0) result.otherErrors++;
}

const emptyResult = (seconds: number): LoadResult => ({
  accepted: 0,
  failed: 0,
  seconds,
  latencies: [],
  refused: 0,
  otherErrors: 0,
  statuses: {},
});

/**
 * Closed loop: `clients` clients, each POSTing again as soon as it has its
 * answer; a refused client waits as Retry-After says (a well-behaved client).
 */
async function closedLoop(gatewayUrl: string, clients: number, seconds: number): Promise<LoadResult> {
  const until = performance.now() + seconds * 1000;
  const result = emptyResult(seconds);
  let n = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const answer = await post(gatewayUrl, n++);
        count(result, answer);
        if (answer.status !== 201 && answer.retryAfterS) {
          await sleep(Math.min(answer.retryAfterS * 1000, Math.max(0, until - performance.now())));
        }
      }
    }),
  );
  return result;
}

/** Open loop: one POST every 1/rate s, whatever the answers do. */
async function openLoop(gatewayUrl: string, rate: number, seconds: number): Promise<LoadResult> {
  const started = performance.now();
  const total = Math.floor(rate * seconds);
  const result = emptyResult(seconds);
  const inFlight: Promise<void>[] = [];
  for (let n = 0; n < total; n++) {
    const due = started + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    inFlight.push(post(gatewayUrl, n).then((answer) => count(result, answer)));
  }
  await Promise.all(inFlight);
  return result;
}

/** The mean batch size of every consumer, read from each service's /metrics (consumer_batch_size). */
async function meanBatchSizes(opsUrls: string[]): Promise<Record<string, number>> {
  const sums = new Map<string, { sum: number; count: number }>();
  for (const url of opsUrls) {
    const text = await fetch(`${url}/metrics`).then(
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
  return Object.fromEntries([...sums].filter(([, v]) => v.count > 0).map(([k, v]) => [k, round(v.sum / v.count, 1)]));
}

// ---------------------------------------------------------------- the run
async function main() {
  if (!values["skip-build"]) {
    console.log("building (pnpm build) ...");
    execFileSync("pnpm", ["build"], { cwd: REPO_ROOT, stdio: "ignore" });
  }
  console.log("the ceiling: pgbench on the same Postgres ...");
  const ceil = await ceiling();

  const deadOtlp = `http://127.0.0.1:${await freePort()}`; // nothing listens: a user without a collector
  const env = Object.fromEntries(
    SERVICE_NAMES.map((name) => [
      name,
      {
        LOG_LEVEL: "info",
        OTEL_EXPORTER_OTLP_ENDPOINT: deadOtlp,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
        ...SERVICE_ENV,
      },
    ]),
  ) as unknown as Record<ServiceName, Record<string, string>>;
  console.log("starting the system (compiled, as the image runs it) ...");
  const system = await startSystem({ services: [...SERVICE_NAMES], built: true, env });
  const db = new pg.Pool({ connectionString: system.database.url, max: 2 });
  try {
    // Every SKU of the mix in stock for the whole run, but the one that is out of stock on purpose.
    await db.query("UPDATE inventory.stock SET available = CASE WHEN sku = 'LT-001' THEN 0 ELSE 100000000 END");
    await sleep(3000);
    const idleRss = Object.fromEntries(
      SERVICE_NAMES.map((name) => [name, round(rssMb(system.service(name).pid ?? 0), 0)]),
    ) as Record<ServiceName, number>;

    const pids = () => ({
      ...Object.fromEntries(SERVICE_NAMES.map((name) => [name, [system.service(name).pid ?? 0]])),
      postgres: postgresPids(),
      "nats-server": [system.nats.pid ?? 0],
    });
    const cpu = () =>
      Object.fromEntries(Object.entries(pids()).map(([k, list]) => [k, list.reduce((s, p) => s + cpuTicks(p), 0)]));
    const commits = async () =>
      Number(
        (
          await db.query<{ n: string }>(
            "SELECT sum(xact_commit) AS n FROM pg_stat_database WHERE datname = current_database()",
          )
        ).rows[0]?.n ?? 0,
      );
    const finalOrders = async () =>
      Number(
        (await db.query<{ n: string }>("SELECT count(*) AS n FROM orders.orders WHERE status <> 'PENDING'")).rows[0]
          ?.n ?? 0,
      );
    const pendingOrders = async () =>
      Number(
        (await db.query<{ n: string }>("SELECT count(*) AS n FROM orders.orders WHERE status = 'PENDING'")).rows[0]
          ?.n ?? 0,
      );

    for (let i = 0; i < 1000; i++) TOKENS[i] = await system.auth.token(`bench-${i}`);
    const verifyUs = await verificationCost(system.auth.verifierConfig, TOKENS);

    // Warm-up: JIT, pools, connections.
    await closedLoop(system.gatewayUrl, 8, 3);
    await waitForDrain(pendingOrders);

    const levels: Array<{
      clients: number;
      acceptedPerS: number;
      p50: number;
      p99: number;
      completedPerS: number;
      backlogAtEnd: number;
      refused: number;
      statuses: Record<string, number>;
    }> = [];
    let profile: { cpuMsPerOrder: Record<string, number>; commitsPerSaga: number; loadGenCpuMsPerOrder: number } = {
      cpuMsPerOrder: {},
      commitsPerSaga: 0,
      loadGenCpuMsPerOrder: 0,
    };
    for (const clients of LEVELS) {
      const cpu0 = cpu();
      const me0 = process.cpuUsage();
      const commits0 = await commits();
      const final0 = await finalOrders();
      const r = await closedLoop(system.gatewayUrl, clients, SECONDS);
      const final1 = await finalOrders();
      const backlog = await pendingOrders();
      await waitForDrain(pendingOrders);
      const cpu1 = cpu();
      const me1 = process.cpuUsage(me0);
      const completedAll = (await finalOrders()) - final0;
      const commits1 = await commits();
      // The best level so far (compared before this one is added): its profile is the one reported.
      const isBest = levels.every((l) => r.accepted / r.seconds >= l.acceptedPerS);
      levels.push({
        clients,
        acceptedPerS: round(r.accepted / r.seconds),
        p50: round(percentile(r.latencies, 50)),
        p99: round(percentile(r.latencies, 99)),
        completedPerS: round((final1 - final0) / r.seconds),
        backlogAtEnd: backlog,
        refused: r.refused,
        statuses: r.statuses,
      });
      if (isBest) {
        profile = {
          cpuMsPerOrder: Object.fromEntries(
            Object.keys(cpu1).map((k) => [k, round((((cpu1[k] ?? 0) - (cpu0[k] ?? 0)) * 1000) / TICK / r.accepted, 2)]),
          ),
          commitsPerSaga: round((commits1 - commits0) / Math.max(1, completedAll), 1),
          loadGenCpuMsPerOrder: round((me1.user + me1.system) / 1000 / r.accepted, 2),
        };
      }
      console.log(`  ${clients} clients: ${JSON.stringify(levels.at(-1))}`);
    }
    const best = Math.max(...levels.map((l) => l.acceptedPerS));
    // Sustained: the highest open-loop rate the system completes without its backlog growing
    // (at the end, no more than one second of its work is pending). Start from the best
    // completion rate seen under closed-loop load (where accepting starves completing), step up
    // by a quarter while it holds, down by a fifth until it holds; six tries at most.
    let sustained = 0;
    const tried: { ratePerS: number; completedPerS: number; backlogAtEnd: number }[] = [];
    let rate = Math.max(1, Math.floor(Math.max(...levels.map((l) => l.completedPerS))));
    for (let i = 0; i < 6; i++) {
      const before = await finalOrders();
      await openLoop(system.gatewayUrl, rate, SECONDS);
      const backlog = await pendingOrders();
      const completed = round(((await finalOrders()) - before) / SECONDS);
      tried.push({ ratePerS: rate, completedPerS: completed, backlogAtEnd: backlog });
      await waitForDrain(pendingOrders);
      const held = backlog <= rate;
      if (held) sustained = Math.max(sustained, completed);
      else if (sustained) break; // the step up failed: the last rate that held is the answer
      rate = held ? Math.ceil(rate * 1.25) : Math.max(1, Math.floor(rate * 0.8));
    }
    console.log(`  sustained search: ${JSON.stringify(tried)}`);

    /** Placed to final (confirmed or cancelled), in ms, of every order created since `since`. */
    async function placedToFinal(since: Date) {
      const { rows } = await db.query<{ ms: number }>(
        `SELECT extract(epoch FROM max(t.at) FILTER (WHERE t.step IN ('confirmed','cancelled'))
                                  - min(t.at) FILTER (WHERE t.step = 'placed')) * 1000 AS ms
           FROM orders.order_timeline t JOIN orders.orders o ON o.id = t.order_id
          WHERE o.created_at >= $1 GROUP BY t.order_id`,
        [since],
      );
      return rows;
    }

    /** Latencies under an open loop at `ratePerS`: POST, placed-to-final, relay lag; and commits per saga. */
    async function latenciesAt(ratePerS: number) {
      const since = new Date();
      const finalBeforeOpen = await finalOrders();
      const commitsBefore = await commits();
      const open = await openLoop(system.gatewayUrl, ratePerS, SECONDS);
      const openBacklog = await pendingOrders();
      const openCompletedPerS = round(((await finalOrders()) - finalBeforeOpen) / SECONDS);
      await waitForDrain(pendingOrders);
      const commitsPerSaga = round(
        ((await commits()) - commitsBefore) / Math.max(1, (await finalOrders()) - finalBeforeOpen),
        1,
      );
      const sagas = await placedToFinal(since);
      const { rows: relay } = await db.query<{ ms: number }>(
        `SELECT extract(epoch FROM published_at - created_at) * 1000 AS ms FROM (
           SELECT created_at, published_at FROM orders.outbox WHERE created_at >= $1
           UNION ALL SELECT created_at, published_at FROM inventory.outbox WHERE created_at >= $1
           UNION ALL SELECT created_at, published_at FROM payments.outbox WHERE created_at >= $1
           UNION ALL SELECT created_at, published_at FROM notifications.outbox WHERE created_at >= $1) r
          WHERE published_at IS NOT NULL`,
        [since],
      );
      // Consumer lag: published (JetStream acked the relay) to taken up by a consumer's transaction.
      const union = (table: string, cols: string) =>
        ["orders", "inventory", "payments", "notifications"]
          .map((s) => `SELECT ${cols} FROM ${s}.${table}`)
          .join(" UNION ALL ");
      const { rows: consumed } = await db.query<{ ms: number }>(
        `SELECT extract(epoch FROM i.processed_at - o.published_at) * 1000 AS ms
           FROM (${union("inbox", "event_id, processed_at")}) i
           JOIN (${union("outbox", "id::text AS id, published_at")}) o ON o.id = i.event_id
          WHERE o.published_at >= $1`,
        [since],
      );
      const p = (xs: { ms: number }[], q: number) =>
        round(
          percentile(
            xs.map((r) => Number(r.ms)),
            q,
          ),
        );
      return {
        ratePerS,
        postP50: round(percentile(open.latencies, 50)),
        postP99: round(percentile(open.latencies, 99)),
        placedToFinalP50: p(sagas, 50),
        placedToFinalP99: p(sagas, 99),
        relayLagP50: p(relay, 50),
        relayLagP99: p(relay, 99),
        consumerLagP50: p(consumed, 50),
        consumerLagP99: p(consumed, 99),
        failed: open.failed,
        completedPerS: openCompletedPerS,
        backlogAtEnd: openBacklog,
        commitsPerSaga,
      };
    }
    // At half the maximum accepted rate (beyond what it sustains when that is above the
    // sustained rate), and at half the sustained rate (a steady state).
    const half = Math.max(1, Math.floor(best / 2));
    const atHalf = await latenciesAt(half);
    const atHalfSustained = await latenciesAt(Math.max(1, Math.floor(sustained / 2)));
    const batchSizes = await meanBatchSizes(
      SERVICE_NAMES.filter((n) => n !== "gateway").map((n) => `http://127.0.0.1:${system.service(n).env.HTTP_PORT}`),
    );

    // Overload: an open loop at four times the sustained rate. Admission control should keep
    // completing at the sustained rate, refuse the rest with Retry-After, and never let an
    // accepted order wait long.
    const overloadRate = Math.max(2, Math.ceil(sustained * 4));
    const overloadSince = new Date();
    const finalBeforeOverload = await finalOrders();
    const overloadStarted = performance.now();
    const over = await openLoop(system.gatewayUrl, overloadRate, OVERLOAD_SECONDS);
    const overloadSeconds = (performance.now() - overloadStarted) / 1000;
    const completedDuringOverload = (await finalOrders()) - finalBeforeOverload;
    const drainStarted = performance.now();
    await waitForDrain(pendingOrders, 300_000);
    const overloadWaits = await placedToFinal(overloadSince);
    const overload = {
      ratePerS: overloadRate,
      seconds: OVERLOAD_SECONDS,
      sent: Math.floor(overloadRate * OVERLOAD_SECONDS),
      accepted: over.accepted,
      refused: over.refused,
      otherErrors: over.otherErrors,
      statuses: over.statuses,
      completedPerS: round(completedDuringOverload / overloadSeconds),
      completedOfSustained: round((completedDuringOverload / overloadSeconds / Math.max(1, sustained)) * 100, 0),
      drainAfterS: round((performance.now() - drainStarted) / 1000),
      placedToFinalMaxMs: round(Math.max(0, ...overloadWaits.map((r) => Number(r.ms)))),
      admissionBound: SERVICE_ENV.ADMISSION_MAX_PENDING_ORDERS ?? "600 (the default)",
    };
    console.log(`  overload: ${JSON.stringify(overload)}`);

    const latencyLine = (l: typeof atHalf) =>
      `${l.completedPerS} completed/s, backlog ${l.backlogAtEnd}; POST p50 ${l.postP50} / p99 ${l.postP99} ms; placed-to-final p50 ${l.placedToFinalP50} / p99 ${l.placedToFinalP99} ms; relay lag p50 ${l.relayLagP50} / p99 ${l.relayLagP99} ms; consumer lag p50 ${l.consumerLagP50} / p99 ${l.consumerLagP99} ms`;

    const ratios = {
      acceptedOfCeiling: round((best / ceil.orderOutboxTps) * 100, 2),
      sustainedOfCeiling: round((sustained / ceil.orderOutboxTps) * 100, 2),
    };
    const rows: [string, string][] = [
      ["ceiling: pgbench order+outbox (8 clients)", `${round(ceil.orderOutboxTps, 0)} TPS`],
      ["ceiling: the same with pg_notify", `${round(ceil.withNotifyTps, 0)} TPS`],
      ...levels.map((l): [string, string] => [
        `closed loop, ${l.clients} clients`,
        `${l.acceptedPerS} accepted/s (POST p50 ${l.p50} ms, p99 ${l.p99} ms), ${l.completedPerS} completed/s, backlog ${l.backlogAtEnd}, ${l.refused} refused, not 201: ${JSON.stringify(l.statuses)}`,
      ]),
      ["max accepted orders/s", `${best} (${ratios.acceptedOfCeiling} % of the ceiling; target >= 25 %)`],
      ["sustained completed sagas/s", `${sustained} (${ratios.sustainedOfCeiling} % of the ceiling; target >= 8 %)`],
      [`at half the maximum (${half}/s, open loop)`, latencyLine(atHalf)],
      [`at half the sustained rate (${atHalfSustained.ratePerS}/s)`, latencyLine(atHalfSustained)],
      [
        "Postgres commits per completed saga",
        `${atHalfSustained.commitsPerSaga} at half the sustained rate, ${profile.commitsPerSaga} at the best closed-loop level (target <= 3)`,
      ],
      [
        "mean batch size per consumer",
        Object.entries(batchSizes)
          .map(([k, v]) => `${k} ${v}`)
          .join(", "),
      ],
      [
        `overload: ${overload.ratePerS}/s for ${overload.seconds} s (4x sustained)`,
        `${overload.completedPerS} completed/s (${overload.completedOfSustained} % of sustained; target >= 90 %), ${overload.accepted} accepted, ${overload.refused} refused with Retry-After, ${overload.otherErrors} other 5xx or no answer (target 0); every accepted order final ${overload.drainAfterS} s after the load, longest placed-to-final ${overload.placedToFinalMaxMs} ms (target <= 30 s); admission bound ${overload.admissionBound}`,
      ],
      [
        "CPU ms per accepted order",
        `${Object.entries(profile.cpuMsPerOrder)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}, load generator ${profile.loadGenCpuMsPerOrder}`,
      ],
      [
        "caller verification (ES256 JWT, jose)",
        `${verifyUs} µs of CPU per token, in this process; twice per order (the gateway and the order service): ${round((2 * verifyUs) / 1000, 2)} ms of the CPU ms per order above`,
      ],
      [
        "idle RSS (MB)",
        Object.entries(idleRss)
          .map(([k, v]) => `${k} ${v}`)
          .join(", "),
      ],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(`\n${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n")}\n`);
    console.log(
      JSON.stringify({
        ceiling: ceil,
        levels,
        maxAcceptedPerS: best,
        sustainedCompletedPerS: sustained,
        atHalf,
        atHalfSustained,
        profile,
        batchSizes,
        overload,
        idleRss,
        ratios,
        verifyUsPerToken: verifyUs,
      }),
    );
  } finally {
    await db.end();
    await system.stop();
  }
}

/** CPU µs one verification of a bearer token takes (signature, claims; keys cached), as the services do it. */
async function verificationCost(config: Parameters<typeof createVerifier>[0], tokens: string[]): Promise<number> {
  const verifier = createVerifier(config);
  await verifier.warmUp();
  for (let i = 0; i < 500; i++) await verifier.verify(tokens[i % tokens.length] as string); // JIT
  const n = 5000;
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await verifier.verify(tokens[i % tokens.length] as string);
  const used = process.cpuUsage(before);
  return round((used.user + used.system) / n, 1);
}

async function waitForDrain(pending: () => Promise<number>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && (await pending()) > 0) await sleep(250);
}

await main();
process.exit(0);
