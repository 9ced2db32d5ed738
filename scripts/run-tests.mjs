#!/usr/bin/env node
// One test run for the whole repository, with node:test.
//   node scripts/run-tests.mjs                 every unit, component and e2e test
//   node scripts/run-tests.mjs --e2e NAME...   the named e2e scenarios (e2e/NAME.test.ts), or all of them
// Files run one at a time (--test-concurrency=1): e2e scenarios start their own
// nats-server and several service processes, and this machine has two cores.
// The spec reporter writes to the terminal; a TAP copy is parsed to print the
// closing "# pass N / # fail N" lines and a plain "N passed, N failed" line.
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
  // Unit and component tests first, then the slower end-to-end scenarios.
  files.sort((a, b) => Number(a.startsWith("e2e/")) - Number(b.startsWith("e2e/")) || a.localeCompare(b));
}

mkdirSync(join(root, ".tmp"), { recursive: true });
const tap = join(root, ".tmp", "test-results.tap");
const result = spawnSync(
  process.execPath,
  [
    "--conditions=development",
    "--import",
    "tsx",
    "--test",
    "--test-concurrency=1",
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=tap",
    `--test-reporter-destination=${tap}`,
    ...files,
  ],
  { cwd: root, stdio: "inherit", env: { ...process.env, NODE_ENV: process.env.NODE_ENV ?? "test" } },
);

const summary = existsSync(tap) ? readFileSync(tap, "utf8") : "";
const count = (key) => Number(summary.match(new RegExp(`^# ${key} (\\d+)$`, "m"))?.[1] ?? 0);
// A test cancelled by a failed hook (a system that never became ready) did not
// pass: it counts as failed, so the closing line tells the truth.
const [pass, failed, cancelled, skipped] = [count("pass"), count("fail"), count("cancelled"), count("skipped")];
const fail = failed + cancelled;
console.log(`\n# pass ${pass}\n# fail ${fail}${cancelled ? ` (${cancelled} cancelled)` : ""}`);
console.log(`${pass} passed, ${fail} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(result.status === 0 && fail === 0 && pass > 0 ? 0 : 1);
