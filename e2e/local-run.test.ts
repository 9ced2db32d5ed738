/**
 * The README's run command without Docker, as a user runs it: `pnpm start`
 * serves the gateway, `pnpm demo` places three orders (confirmed, out of
 * stock, declined), and Ctrl-C (SIGINT) stops everything cleanly.
 * Here it is given the harness's database and nats-server, and shifted ports.
 *
 *   pnpm e2e local-run
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  baseEnv,
  createTestDatabase,
  type NatsServerHandle,
  REPO_ROOT,
  startNatsServer,
  type TestDatabase,
  waitFor,
} from "@orderflow/stack";

/** Whether a port can be listened on (on every address, as the services listen) right now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "0.0.0.0" }, () => server.close(() => resolve(true)));
  });
}

/**
 * A PORT_OFFSET whose every port is free now: the gateway 8080, ops 8081-8084, console 8085, issuer
 * 8090 and the order service's gRPC 50051, shifted. 50051 + offset lies in the ephemeral range
 * (32768-60999), where another scenario's outgoing connection may hold it: each is tried first.
 */
async function freeOffset(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const offset = 100 + Math.floor(Math.random() * 800);
    const ports = [8080, 8081, 8082, 8083, 8084, 8085, 8090, 50051].map((p) => p + offset);
    if ((await Promise.all(ports.map(canListen))).every(Boolean)) return offset;
  }
  throw new Error("no PORT_OFFSET with every port free in 50 tries");
}

describe("local-run", () => {
  let nats: NatsServerHandle;
  let database: TestDatabase;
  before(async () => {
    nats = await startNatsServer();
    database = await createTestDatabase();
  });
  after(async () => {
    await nats?.stop();
    await database?.drop();
  });

  it("when pnpm start runs, then the gateway serves, the demo's three orders end as expected, and Ctrl-C stops it all", async (t) => {
    const offset = await freeOffset();
    const run = spawn(process.execPath, ["tooling/stack/bin/start.mjs"], {
      cwd: REPO_ROOT,
      env: {
        ...baseEnv(),
        DATABASE_URL: database.url,
        NATS_URL: nats.url,
        PORT_OFFSET: String(offset),
        OTEL_SDK_DISABLED: "true",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    run.stdout.on("data", (d) => (output += d));
    run.stderr.on("data", (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => run.once("exit", (code) => resolve(code)));
    try {
      await Promise.race([
        waitFor("the run to be up", () => output.includes("orderflow is running"), { timeoutMs: 60_000 }),
        exited.then((code) => {
          const why = output.split("\n").filter((l) => /did not start|rror/.test(l));
          throw new Error(`pnpm start exited (${code}) before it was up:\n${why.slice(0, 10).join("\n")}`);
        }),
      ]);
      assert.match(
        output,
        new RegExp(`gateway \\(HTTP API\\)\\s+http://127\\.0\\.0\\.1:${8080 + offset}`),
        "it prints the URLs",
      );

      assert.match(
        output,
        new RegExp(`console\\s+http://127\\.0\\.0\\.1:${8085 + offset}`),
        "it prints the console's URL",
      );
      assert.equal((await fetch(`http://127.0.0.1:${8085 + offset}/login`)).status, 200, "the console serves");
      // The README's lines: a token from the development issuer, then curl with it.
      const gatewayUrl = `http://127.0.0.1:${8080 + offset}`;
      const token = await promisify(execFile)(
        join(REPO_ROOT, "node_modules", ".bin", "orderflow-token"),
        ["--sub", "c-1"],
        {
          cwd: REPO_ROOT,
          env: { ...baseEnv(), PORT_OFFSET: String(offset) },
          encoding: "utf8",
        },
      );
      assert.match(token.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, "pnpm run token prints the token and nothing else");
      const stock = (auth?: string) =>
        fetch(`${gatewayUrl}/api/v1/inventory`, auth ? { headers: { authorization: auth } } : {});
      assert.equal((await stock()).status, 401, "no token: 401");
      assert.equal((await stock(`Bearer ${token.stdout.trim()}`)).status, 200, "with the token: 200");

      // Not spawnSync: the event loop must keep reading pnpm start's output meanwhile.
      const demo = await promisify(execFile)(join(REPO_ROOT, "node_modules", ".bin", "orderflow-demo"), [], {
        cwd: REPO_ROOT,
        env: { ...baseEnv(), GATEWAY_URL: gatewayUrl, PORT_OFFSET: String(offset) },
        encoding: "utf8",
        timeout: 60_000,
      });
      t.diagnostic(
        demo.stdout
          .trim()
          .split("\n")
          .filter((l: string) => /^\d\./.test(l))
          .join(" | "),
      );
      assert.match(demo.stdout, /1\. .* is CONFIRMED/);
      assert.match(demo.stdout, /2\. .* is CANCELLED \(out of stock: LT-001/);
      assert.match(demo.stdout, /3\. .* is CANCELLED \(payment declined: card declined\)/);
      assert.match(
        output,
        /order\s+.*INFO\s+order placed/,
        "the services' logs are interleaved, one readable line each",
      );
    } finally {
      run.kill("SIGINT");
    }
    assert.equal(await exited, 0, "Ctrl-C stops it with exit code 0");
    for (const service of ["order", "inventory", "payment", "notification", "gateway", "console"]) {
      assert.match(output, new RegExp(`${service}\\s*\\S*\\s+INFO\\s+stopped`), `${service} stopped gracefully`);
    }
  });

  it("when PORT_OFFSET would put a port past 65535, then pnpm start refuses with the range", async () => {
    const res = await promisify(execFile)(process.execPath, ["tooling/stack/bin/start.mjs"], {
      cwd: REPO_ROOT,
      env: { ...baseEnv(), PORT_OFFSET: "99999" },
      encoding: "utf8",
    }).then(
      () => ({ code: 0, stderr: "" }),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(res.code, 2);
    assert.match(res.stderr, /PORT_OFFSET=99999: expected a whole number from 0 to 15484/);
  });
});
