/**
 * pnpm soak --minutes N [--rate R] [--sample-seconds S] [--short-windows]
 *
 * Does the system stay steady over time? A steady open-loop load (R orders/s,
 * the bench's order mix) against the system as the image runs it (compiled;
 * its own database and nats-server), sampled every S seconds (default 60):
 * RSS per service, the size of every table with its indexes, POST p50/p99 and
 * placed-to-final p50/p99 over the interval, relay lag and consumer lag p99,
 * the pending orders. At the end: a table per 5 minutes, and each figure's
 * slope per hour over the second half of the run, after the warm-up: the
 * Theil-Sen estimate, the median of the slopes between every two samples,
 * which a minute with one stall cannot tilt (a single p99 of 2 s in the last
 * minute tilts a least-squares fit of 30 minutes by ~800 ms/h). It fails (exit 1) when a figure grows without bound (slopes are
 * judged only when the second half spans 15 minutes or more):
 * - a service's RSS slope above --max-rss-slope MB/h (default 20);
 * - POST or placed-to-final p99 slope above --max-latency-slope ms/h (default 50);
 * - the retained tables' (inboxes, outboxes, consumer failures, idempotency
 *   keys) total size slope above --max-retained-slope MB/h (default 10);
 * - an inbox row, a published outbox row or an idempotency key older than its
 *   retention window plus two pruning intervals (retention fell behind).
 * --short-windows shortens the retention windows (stream 2 min, inbox 3 min,
 * idempotency keys and published outbox rows 2 min, pruning every 10 s), so
 * that a run of minutes prunes many times over.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { SERVICE_NAMES, type ServiceName, startSystem } from "@orderflow/stack";
import pg from "pg";
import { type Answer, percentile, postOrder, round, rssMb } from "./load.js";
import { theilSen } from "./slope.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    rate: { type: "string", default: "10" },
    "sample-seconds": { type: "string", default: "60" },
    "short-windows": { type: "boolean", default: false },
    "max-rss-slope": { type: "string", default: "20" },
    "max-latency-slope": { type: "string", default: "50" },
    "max-retained-slope": { type: "string", default: "10" },
    "skip-build": { type: "boolean", default: false },
  },
});
const MINUTES = Number(values.minutes);
const RATE = Number(values.rate);
const SAMPLE_S = Number(values["sample-seconds"]);
for (const [name, v] of [
  ["minutes", MINUTES],
  ["rate", RATE],
  ["sample-seconds", SAMPLE_S],
] as const) {
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`--${name}: expected a positive number`);
    process.exit(2);
  }
}

const SCHEMAS = ["orders", "inventory", "payments", "notifications"];
/** The tables retention bounds (their size must level off); the rest is business data, which grows. */
const RETAINED = /\.(inbox|outbox|consumer_failures|idempotency_keys)$/;
const sumMb = (s: { tablesMb: Record<string, number> }, which: (table: string) => boolean) =>
  round(
    Object.entries(s.tablesMb)
      .filter(([t]) => which(t))
      .reduce((a, [, mb]) => a + mb, 0),
    1,
  );
/** Retention windows of the run (seconds) and the pruning interval. */
const windows = values["short-windows"]
  ? { streamS: 120, inboxS: 180, keysS: 120, outboxS: 120, intervalMs: 10_000 }
  : { streamS: 168 * 3600, inboxS: 192 * 3600, keysS: 24 * 3600, outboxS: 24 * 3600, intervalMs: 60_000 };
const hours = (s: number) => String(s / 3600);
const retentionEnv = {
  STREAM_MAX_AGE_HOURS: hours(windows.streamS),
  INBOX_RETENTION_HOURS: hours(windows.inboxS),
  OUTBOX_RETENTION_HOURS: hours(windows.outboxS),
  RETENTION_INTERVAL_MS: String(windows.intervalMs),
};

if (!values["skip-build"]) {
  console.log("building (pnpm build) ...");
  const { execFileSync } = await import("node:child_process");
  execFileSync("pnpm", ["build"], { stdio: "inherit" });
}
const env = Object.fromEntries(
  SERVICE_NAMES.map((n) => [
    n,
    {
      LOG_LEVEL: "warn",
      OTEL_SDK_DISABLED: "true",
      ...(n === "gateway" ? {} : retentionEnv),
      ...(n === "order" ? { IDEMPOTENCY_KEY_RETENTION_HOURS: hours(windows.keysS) } : {}),
    },
  ]),
) as unknown as Record<ServiceName, Record<string, string>>;
console.log(`starting the system (compiled) for a ${MINUTES}-minute soak at ${RATE} orders/s ...`);
const system = await startSystem({ services: [...SERVICE_NAMES], built: true, transpile: false, env });
const db = new pg.Pool({ connectionString: system.database.url, max: 2 });
const q = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) =>
  (await db.query<T>(sql, params)).rows;

interface Sample {
  minute: number;
  rss: Record<string, number>;
  tablesMb: Record<string, number>;
  postP50: number;
  postP99: number;
  finalP50: number;
  finalP99: number;
  relayP99: number;
  consumerP99: number;
  pending: number;
  accepted: number;
  failed: number;
  /** The answers that were not 201, by status and problem type (0: no answer). */
  notAccepted: Record<string, number>;
}

try {
  await db.query("UPDATE inventory.stock SET available = CASE WHEN sku = 'LT-001' THEN 0 ELSE 1000000000 END");
  const tokens: string[] = [];
  // Valid for the whole run and a margin (a token of the test issuer lasts an hour by default:
  // a longer run's last minutes were all 401s).
  const ttlS = Math.ceil(MINUTES * 60 + 600);
  for (let i = 0; i < 1000; i++) tokens[i] = await system.auth.token(`bench-${i}`, { ttlS });

  const started = Date.now();
  const endAt = started + MINUTES * 60_000;
  let answers: Answer[] = [];
  let n = 0;
  const inFlight = new Set<Promise<void>>();
  // The open loop: one order every 1/R seconds, whatever the answers' speed.
  const load = (async () => {
    const every = 1000 / RATE;
    let next = performance.now();
    while (Date.now() < endAt) {
      const p = postOrder(system.gatewayUrl, n++, tokens).then((a) => {
        answers.push(a);
        inFlight.delete(p);
      });
      inFlight.add(p);
      next += every;
      await sleep(Math.max(0, next - performance.now()));
    }
    await Promise.all(inFlight);
  })();

  const samples: Sample[] = [];
  let since = new Date();
  while (Date.now() < endAt) {
    await sleep(Math.min(SAMPLE_S * 1000, Math.max(0, endAt - Date.now())));
    const now = new Date();
    const taken = answers;
    answers = [];
    const ok = taken.filter((a) => a.status === 201).map((a) => a.ms);
    const finals = (
      await q<{ ms: number }>(
        `SELECT extract(epoch FROM updated_at - created_at) * 1000 AS ms FROM orders.orders
          WHERE status <> 'PENDING' AND updated_at >= $1 AND updated_at < $2`,
        [since, now],
      )
    ).map((r) => Number(r.ms));
    const relay = (
      await q<{ ms: number }>(
        SCHEMAS.map(
          (s) =>
            `SELECT extract(epoch FROM published_at - created_at) * 1000 AS ms FROM ${s}.outbox WHERE published_at >= $1 AND published_at < $2`,
        ).join(" UNION ALL "),
        [since, now],
      )
    ).map((r) => Number(r.ms));
    const consumed = (
      await q<{ ms: number }>(
        `SELECT extract(epoch FROM i.processed_at - o.published_at) * 1000 AS ms
           FROM (${SCHEMAS.map((s) => `SELECT event_id, processed_at FROM ${s}.inbox WHERE processed_at >= $1 AND processed_at < $2`).join(" UNION ALL ")}) i
           JOIN (${SCHEMAS.map((s) => `SELECT id::text AS id, published_at FROM ${s}.outbox`).join(" UNION ALL ")}) o ON o.id = i.event_id`,
        [since, now],
      )
    ).map((r) => Number(r.ms));
    const tables = await q<{ name: string; bytes: string }>(
      `SELECT n.nspname || '.' || c.relname AS name, pg_total_relation_size(c.oid) AS bytes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname = ANY($1)`,
      [SCHEMAS],
    );
    const [pending] = await q<{ n: string }>("SELECT count(*) AS n FROM orders.orders WHERE status = 'PENDING'");
    const sample: Sample = {
      minute: round((now.getTime() - started) / 60_000, 2),
      rss: Object.fromEntries(SERVICE_NAMES.map((s) => [s, round(rssMb(system.service(s).pid ?? 0), 1)])),
      tablesMb: Object.fromEntries(tables.map((t) => [t.name, round(Number(t.bytes) / 1024 / 1024, 2)])),
      postP50: round(percentile(ok, 50)),
      postP99: round(percentile(ok, 99)),
      finalP50: round(percentile(finals, 50)),
      finalP99: round(percentile(finals, 99)),
      relayP99: round(percentile(relay, 99)),
      consumerP99: round(percentile(consumed, 99)),
      pending: Number(pending?.n ?? 0),
      accepted: ok.length,
      failed: taken.length - ok.length,
      notAccepted: taken
        .filter((a) => a.status !== 201)
        .reduce<Record<string, number>>((acc, a) => {
          const key = a.type ? `${a.status} ${a.type}` : String(a.status);
          acc[key] = (acc[key] ?? 0) + 1;
          return acc;
        }, {}),
    };
    samples.push(sample);
    console.log(`  ${JSON.stringify(sample)}`);
    since = now;
  }
  await load;

  // Retention keeps up: nothing older than its window plus two pruning intervals.
  const slack = (2 * windows.intervalMs) / 1000;
  const overdue = (
    await q<{ what: string; n: string }>(
      [
        ...SCHEMAS.map(
          (s) =>
            `SELECT '${s}.inbox' AS what, count(*) AS n FROM ${s}.inbox WHERE processed_at < now() - make_interval(secs => ${windows.inboxS + slack})`,
        ),
        ...SCHEMAS.map(
          (s) =>
            `SELECT '${s}.outbox' AS what, count(*) AS n FROM ${s}.outbox WHERE published_at < now() - make_interval(secs => ${windows.outboxS + slack})`,
        ),
        `SELECT 'orders.idempotency_keys' AS what, count(*) AS n FROM orders.idempotency_keys WHERE created_at < now() - make_interval(secs => ${windows.keysS + slack})`,
      ].join(" UNION ALL "),
    )
  ).filter((r) => Number(r.n) > 0);

  // Slopes per hour over the second half (the first is warm-up and the tables filling to their windows).
  const late = samples.slice(Math.floor(samples.length / 2));
  const slope = (ys: number[]) => theilSen(late.map((s, i) => [s.minute / 60, ys[i] as number]));
  const rssSlopes = Object.fromEntries(
    SERVICE_NAMES.map((s) => [s, round(slope(late.map((x) => x.rss[s] ?? Number.NaN)))]),
  );
  const tableNames = Object.keys(samples.at(-1)?.tablesMb ?? {}).sort();
  const tableSlopes = Object.fromEntries(
    tableNames.map((t) => [t, round(slope(late.map((x) => x.tablesMb[t] ?? 0)), 2)]),
  );
  const latencySlopes = {
    postP99: round(slope(late.map((x) => x.postP99))),
    finalP99: round(slope(late.map((x) => x.finalP99))),
  };

  const every5 = samples.filter((s, i) => i === samples.length - 1 || Math.round(s.minute) % 5 === 0);
  const retainedMb = (s: Sample) => sumMb(s, (t) => RETAINED.test(t));
  const businessMb = (s: Sample) => sumMb(s, (t) => !RETAINED.test(t));
  const retainedSlope = round(slope(late.map(retainedMb)), 2);
  console.log(
    `\n| minute | RSS MB (order, inventory, payment, notification, gateway) | retained tables MB | business tables MB | POST p50/p99 ms | placed-to-final p50/p99 ms | relay p99 ms | consumer p99 ms | pending | accepted/failed |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
  );
  for (const s of every5) {
    console.log(
      `| ${s.minute} | ${SERVICE_NAMES.map((n) => s.rss[n]).join(", ")} | ${retainedMb(s)} | ${businessMb(s)} | ${s.postP50} / ${s.postP99} | ${s.finalP50} / ${s.finalP99} | ${s.relayP99} | ${s.consumerP99} | ${s.pending} | ${s.accepted}/${s.failed} |`,
    );
  }
  console.log(`\nslopes per hour over the second half:`);
  console.log(`  RSS MB/h: ${JSON.stringify(rssSlopes)}`);
  console.log(`  p99 ms/h: ${JSON.stringify(latencySlopes)}`);
  console.log(`  retained tables MB/h: ${retainedSlope} (inboxes, outboxes, consumer failures, idempotency keys)`);
  console.log(`  tables MB/h: ${JSON.stringify(tableSlopes)}`);
  // A slope fitted on a few minutes is GC noise extrapolated to an hour: judged only over 15 minutes or more.
  const judged = (late.at(-1)?.minute ?? 0) - (late[0]?.minute ?? 0) >= 15;
  if (!judged)
    console.log("  (the second half spans under 15 minutes: too short to judge slopes; only retention is checked)");
  const problems = [
    ...Object.entries(judged ? rssSlopes : {})
      .filter(([, v]) => v > Number(values["max-rss-slope"]))
      .map(([k, v]) => `${k}'s RSS grows ${v} MB/h (limit ${values["max-rss-slope"]})`),
    ...Object.entries(judged ? latencySlopes : {})
      .filter(([, v]) => v > Number(values["max-latency-slope"]))
      .map(([k, v]) => `${k} grows ${v} ms/h (limit ${values["max-latency-slope"]})`),
    ...(judged && retainedSlope > Number(values["max-retained-slope"])
      ? [`the retained tables grow ${retainedSlope} MB/h (limit ${values["max-retained-slope"]})`]
      : []),
    ...overdue.map((r) => `${r.n} rows of ${r.what} are past their retention window`),
  ];
  console.log(
    JSON.stringify({
      minutes: MINUTES,
      rate: RATE,
      windows,
      samples,
      rssSlopes,
      latencySlopes,
      retainedSlope,
      tableSlopes,
      overdue,
    }),
  );
  if (problems.length) {
    console.error(`\nsoak FAILED:\n  ${problems.join("\n  ")}`);
    process.exitCode = 1;
  } else {
    console.log(
      "\nsoak passed: RSS, p99 latencies and the retained tables' size do not trend up, and no row outlived its retention window",
    );
  }
} finally {
  await db.end();
  await system.stop();
}
process.exit(process.exitCode ?? 0);
