#!/usr/bin/env node
// One test run for the whole repository, with node:test.
//   node scripts/run-tests.mjs                 every unit, component and e2e test
//   node scripts/run-tests.mjs --e2e NAME...   the named e2e scenarios (e2e/NAME.test.ts), or all of them
// Unit and component test files run two at a time, then the e2e scenarios two at
// a time (E2E_CONCURRENCY; each starts its own nats-server, database and service
// processes, and spends much of its time waiting on them), the slowest first so
// that the last to finish is a short one. The spec reporter writes to the terminal; TAP
// copies are parsed to print the closing "# pass N / # fail N" lines and a
// plain "N passed, N failed" line with each group's duration.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const e2eOnly = args[0] === "--e2e";
const names = e2eOnly ? args.slice(1) : [];

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".test.ts") && !join(e.parentPath, e.name).includes("node_modules"))
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

let files;
if (e2eOnly) {
  files = names.length ? names.map((n) => `e2e/${n}.test.ts`) : testFiles(join(root, "e2e"));
  const missing = files.filter((f) => !existsSync(join(root, f)));
  if (missing.length) {
    console.error(`no such scenario: ${missing.join(", ")}; scenarios: ${testFiles(join(root, "e2e")).join(", ")}`);
    process.exit(2);
  }
} else {
  const dirs = ["proto/test", "e2e"];
  for (const group of ["packages", "services", "tooling"]) {
    for (const d of readdirSync(join(root, group))) dirs.push(`${group}/${d}/test`);
  }
  files = dirs.flatMap((d) => testFiles(join(root, d)));
  files.sort();
}

mkdirSync(join(root, ".tmp"), { recursive: true });
/** One node:test run over `group`, in its order; its TAP copy goes to .tmp/test-results-<name>.tap. */
function run(name, group, concurrency) {
  if (!group.length) return { status: 0, summary: "", seconds: 0 };
  const tap = join(root, ".tmp", `test-results-${name}.tap`);
  const started = Date.now();
  const result = spawnSync(
    process.execPath,
    [
      "--conditions=development",
      "--import",
      "tsx",
      join(root, "scripts", "run-test-files.mjs"),
      String(concurrency),
      tap,
      ...group.map((f) => join(root, f)),
    ],
    { cwd: root, stdio: "inherit", env: { ...process.env, NODE_ENV: process.env.NODE_ENV ?? "test" } },
  );
  const summary = existsSync(tap) ? readFileSync(tap, "utf8") : "";
  return { status: result.status, summary, seconds: Math.round((Date.now() - started) / 1000) };
}

// The slowest scenarios, slowest first (on 2026-12-01, two at a time on this 2-core machine: 38-75 s
// each; the others 10-35 s).
const SLOWEST = [
  "nats-cluster",
  "alerts",
  "chaos",
  "retention",
  "replicas",
  "replay",
  "dark-failure",
  "poison-message",
  "graceful-shutdown",
  "console",
];
const rank = (f) => {
  const i = SLOWEST.indexOf(f.replace(/^e2e\/(.*)\.test\.ts$/, "$1"));
  return i === -1 ? SLOWEST.length : i;
};
const e2eConcurrency = Number(process.env.E2E_CONCURRENCY ?? 2);
if (!Number.isInteger(e2eConcurrency) || e2eConcurrency < 1) {
  console.error(`E2E_CONCURRENCY=${process.env.E2E_CONCURRENCY}: expected a whole number of 1 or more`);
  process.exit(2);
}

// Unit and component tests two files at a time (each has its own database and
// nats-server, and most of their time is waiting on them); then the scenarios.
const units = run(
  "units",
  files.filter((f) => !f.startsWith("e2e/")),
  2,
);
const e2e = run(
  "e2e",
  files.filter((f) => f.startsWith("e2e/")).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)),
  e2eConcurrency,
);
const results = [units, e2e];
const count = (key) =>
  results.reduce((n, r) => n + Number(r.summary.match(new RegExp(`^# ${key} (\\d+)$`, "m"))?.[1] ?? 0), 0);
// A test cancelled by a failed hook (a system that never became ready) did not
// pass: it counts as failed, so the closing line tells the truth.
const [pass, failed, cancelled, skipped] = [count("pass"), count("fail"), count("cancelled"), count("skipped")];
const fail = failed + cancelled;
console.log(`\n# pass ${pass}\n# fail ${fail}${cancelled ? ` (${cancelled} cancelled)` : ""}`);
console.log(
  `${pass} passed, ${fail} failed${skipped ? `, ${skipped} skipped` : ""} (unit and component tests ${units.seconds} s, end-to-end scenarios ${e2e.seconds} s)`,
);
process.exit(results.every((r) => r.status === 0) && fail === 0 && pass > 0 ? 0 : 1);
