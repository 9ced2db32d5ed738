/**
 * The harness's supervisor (createServiceProcess with supervise: true), with a
 * stand-in service: a small HTTP server whose /readyz answers as its start
 * number says. A process that is killed is restarted; a restart that dies
 * before it is ready is tried again; a restart that runs but never becomes
 * ready within its budget is killed and tried again, and whenReady() resolves
 * once one is ready.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createServiceProcess, freePort } from "../src/index.js";

// Start n (1, 2, ...) is counted in a file. STARTS tells each start what to do:
// "ready", "exit" (exits at once with code 3), "never" (listens, /readyz always 503).
const STAND_IN = `
import { createServer } from "node:http";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
const counter = process.env.COUNTER_FILE;
const n = (existsSync(counter) ? Number(readFileSync(counter, "utf8")) : 0) + 1;
writeFileSync(counter, String(n));
const plan = process.env.STARTS.split(",")[n - 1] ?? "ready";
if (plan === "exit") process.exit(3);
createServer((req, res) => { res.statusCode = plan === "ready" ? 200 : 503; res.end(); }).listen(Number(process.env.PORT), "127.0.0.1");
`;

async function standIn(starts: string[]) {
  const dir = mkdtempSync(join(tmpdir(), "supervisor-"));
  const script = join(dir, "stand-in.mjs");
  writeFileSync(script, STAND_IN);
  const port = await freePort();
  const events: string[] = [];
  const proc = createServiceProcess({
    service: "stand-in",
    script,
    env: {
      PATH: process.env.PATH ?? "",
      COUNTER_FILE: join(dir, "starts"),
      STARTS: starts.join(","),
      PORT: String(port),
    },
    readyUrl: `http://127.0.0.1:${port}/readyz`,
    readyTimeoutMs: 2000,
    supervise: true,
    onSupervisorEvent: (m) => events.push(m),
  });
  const starts_ = () => Number(readFileSync(join(dir, "starts"), "utf8"));
  return { proc, events, starts: starts_, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe("the harness's supervisor", () => {
  it("when a supervised process is killed, and its restarts first die, then never become ready, then it is restarted until one is ready", async () => {
    const s = await standIn(["ready", "exit", "never", "ready"]);
    try {
      await s.proc.start();
      await s.proc.kill();
      await s.proc.whenReady();
      assert.equal(s.starts(), 4, "four starts: the first, one that died, one never ready, one ready");
      assert.ok(s.proc.running);
      assert.deepEqual(
        s.proc.exits.map((e) => e.cause),
        ["killed", "died", "unready"],
      );
      assert.ok(
        s.events.some((m) => m.startsWith("was not ready in time")),
        s.events.join("\n"),
      );
      assert.equal(s.events.at(-1), "restarted and ready");
    } finally {
      await s.proc.stop();
      s.cleanup();
    }
  });

  it("when a process is stopped, then the supervisor does not restart it", async () => {
    const s = await standIn(["ready"]);
    try {
      await s.proc.start();
      await s.proc.stop();
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(s.starts(), 1);
      assert.equal(s.proc.running, false);
      assert.deepEqual(s.proc.exits, []);
    } finally {
      s.cleanup();
    }
  });
});
