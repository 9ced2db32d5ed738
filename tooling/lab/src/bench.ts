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
 * The stages live in bench/: ceiling, start, loads (closed and open loops),
 * sample (what is read from the running system), steps, report.
 *
 *   pnpm bench [--seconds 15] [--levels 8,32,128] [--overload-seconds 60] [--hot-sku]
 */
import { parseArgs } from "node:util";
import pg from "pg";
import { measureCeiling } from "./bench/ceiling.js";
import { closedLoop } from "./bench/loads.js";
import { report } from "./bench/report.js";
import { probes } from "./bench/sample.js";
import { build, mintTokens, prepare, startMeasuredSystem, verificationCost } from "./bench/start.js";
import { closedLevels, latenciesAt, overload, sustainedRate } from "./bench/steps.js";
import { postOrder } from "./load.js";

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
    /** Only the ceiling and the closed-loop levels with their profile (CPU, commits, batch sizes): one change measured in minutes. */
    "levels-only": { type: "boolean", default: false },
    /** With --levels-only: also latencies under an open loop at this rate (orders/s). */
    "latency-at": { type: "string" },
  },
});
const SERVICE_ENV = Object.fromEntries(
  (values["service-env"] as string[]).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
);
const SECONDS = Number(values.seconds);
const LEVELS = String(values.levels).split(",").map(Number);
const serverUrl = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";

if (!values["skip-build"]) build();
console.log("the ceiling: pgbench on the same Postgres ...");
const ceiling = await measureCeiling(serverUrl, SECONDS);
const system = await startMeasuredSystem(SERVICE_ENV);
const db = new pg.Pool({ connectionString: system.database.url, max: 2 });
try {
  const idleRss = await prepare(system, db);
  const probe = probes(system, db);
  const tokens = await mintTokens(system);
  const verifyUsPerToken = await verificationCost(system, tokens);
  const post = (n: number) => postOrder(system.gatewayUrl, n, tokens, Boolean(values["hot-sku"]));

  // Warm-up: JIT, pools, connections.
  await closedLoop(post, 8, 3);
  await probe.drained();

  const { levels, profile } = await closedLevels(post, probe, LEVELS, SECONDS);
  if (values["levels-only"]) {
    const ofCeiling = (n: number) => `${((n / ceiling.orderOutboxTps) * 100).toFixed(2)} %`;
    const best = Math.max(...levels.map((l) => l.completedPerS));
    console.log(
      JSON.stringify({
        ceilingTps: Math.round(ceiling.orderOutboxTps),
        bestCompletedPerS: best,
        completedOfCeiling: ofCeiling(best),
        profile,
        cpuMsPerOrderSum: Object.entries(profile.cpuMsPerOrder)
          .reduce((s, [, v]) => s + v, 0)
          .toFixed(1),
        batchSizes: await probe.meanBatchSizes(),
        verifyUsPerToken,
        idleRss,
        ...(values["latency-at"]
          ? { latencies: await latenciesAt(post, probe, Number(values["latency-at"]), SECONDS) }
          : {}),
      }),
    );
  } else {
    const maxAcceptedPerS = Math.max(...levels.map((l) => l.acceptedPerS));
    const sustained = await sustainedRate(post, probe, Math.max(...levels.map((l) => l.completedPerS)), SECONDS);
    // At half the maximum accepted rate (beyond what it sustains when that is above the
    // sustained rate), and at half the sustained rate (a steady state).
    const atHalf = await latenciesAt(post, probe, Math.max(1, Math.floor(maxAcceptedPerS / 2)), SECONDS);
    const atHalfSustained = await latenciesAt(post, probe, Math.max(1, Math.floor(sustained / 2)), SECONDS);
    const batchSizes = await probe.meanBatchSizes();
    const over = await overload(
      post,
      probe,
      sustained,
      Number(values["overload-seconds"]),
      SERVICE_ENV.ADMISSION_MAX_PENDING_ORDERS ?? "600 (the default)",
    );
    report({
      ceiling,
      levels,
      maxAcceptedPerS,
      sustainedCompletedPerS: sustained,
      atHalf,
      atHalfSustained,
      profile,
      batchSizes,
      overload: over,
      idleRss,
      verifyUsPerToken,
    });
  }
} finally {
  await db.end();
  await system.stop();
}
process.exit(0);
