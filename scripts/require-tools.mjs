#!/usr/bin/env node
// pnpm test needs a few tools besides Node: say at once which is missing and
// the exact command that installs it, instead of failing halfway through.
import { spawnSync } from "node:child_process";

const TOOLS = [
  { bin: "nats-server", why: "the tests start their own brokers", install: "apt-get install -y nats-server" },
  {
    bin: "promtool",
    why: "the alert rules' unit tests",
    install: "apt-get install -y --no-install-recommends prometheus",
  },
  {
    bin: "docker-compose",
    why: "validates docker-compose.yml (no engine needed)",
    install: "apt-get install -y --no-install-recommends docker-compose",
  },
  { bin: "pg_isready", why: "a PostgreSQL server for the tests", install: "apt-get install -y postgresql" },
  {
    bin: "chromium",
    why: "the console's browser test (driven by playwright-core)",
    install: "apt-get install -y --no-install-recommends chromium",
  },
];

const missing = TOOLS.filter((t) => spawnSync("sh", ["-c", `command -v ${t.bin}`]).status !== 0);
if (missing.length) {
  console.error("pnpm test needs tools this machine lacks:");
  for (const t of missing) console.error(`  ${t.bin.padEnd(15)} (${t.why}):  ${t.install}`);
  console.error("(as root; run 'apt-get update' first; .ci/run installs them all)");
  process.exit(1);
}
