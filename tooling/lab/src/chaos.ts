/**
 * pnpm chaos [--orders N] [--rate R] [--fault-every-ms MS]: a chaos run of any
 * size (e2e/support/chaos/run-chaos.ts), its own Postgres and nats-server.
 * Prints each fault as it is injected, then every invariant's count; exits 1
 * when any invariant is broken.
 */
import { parseArgs } from "node:util";
import { formatReport, runChaos } from "./chaos/run-chaos.js";

const { values } = parseArgs({
  options: {
    orders: { type: "string", default: "2000" },
    rate: { type: "string", default: "15" },
    "fault-every-ms": { type: "string", default: "8000" },
  },
});
const number = (name: string, raw: string | undefined, min: number) => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) {
    console.error(`--${name}=${raw}: expected a number of at least ${min}`);
    process.exit(2);
  }
  return n;
};
const report = await runChaos({
  orders: number("orders", values.orders, 1),
  ratePerSecond: number("rate", values.rate, 0.1),
  faultEveryMs: number("fault-every-ms", values["fault-every-ms"], 0),
  drainBudgetMs: 600_000,
});
console.log(`\n${formatReport(report)}`);
console.log(
  JSON.stringify({
    ...report.counts,
    faults: report.faults.length,
    loadSeconds: report.loadSeconds,
    drainSeconds: report.drainSeconds,
  }),
);
process.exit(report.violations.length ? 1 : 0);
