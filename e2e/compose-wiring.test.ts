/**
 * docker-compose.yml, proven without a Docker engine: every service is started
 * from dist/ as the image's command runs it (the sources transpiled as the
 * harness does; the image's `turbo run build` gives the same modules through
 * tsc, whose types `pnpm check` checks) with exactly the environment
 * compose gives it (plus the image's NODE_ENV=production), with compose's host
 * names mapped to loopback and its ports to free ones. Postgres gets the
 * compose init script (infra/postgres/roles.sql), nats-server the compose
 * users (infra/nats/users.conf). Each becomes ready; an order completes.
 *
 *   pnpm e2e compose-wiring
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  applyRoles,
  baseEnv,
  createServiceProcess,
  createTestDatabase,
  ensureTranspiled,
  freePort,
  NATS_USERS_CONF,
  type NatsServerHandle,
  type OtlpReceiver,
  REPO_ROOT,
  ROLES_SQL,
  registerGatewayIssuer,
  type ServiceProcess,
  startNatsServer,
  startOtlpReceiver,
  type TestDatabase,
  waitFor,
} from "@orderflow/stack";
import { parse } from "yaml";
import { notified, postOrder, waitForOrder } from "./support/api.js";

const APP_SERVICES = ["order", "inventory", "payment", "notification", "gateway", "console"] as const;

interface ComposeService {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  /** Long syntax, or (docker-compose 1.29, with a host address) "ip:published:target/proto". */
  ports?: ({ target: number; published: number } | string)[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

/** A service's ports as { hostIp, target }, whichever syntax compose printed. */
function portsOf(svc: ComposeService | undefined): { hostIp?: string; target: number }[] {
  return (svc?.ports ?? []).map((p) => {
    if (typeof p !== "string") return { hostIp: (p as { host_ip?: string }).host_ip, target: p.target };
    const parts = p.split("/")[0]?.split(":") ?? [];
    return { hostIp: parts.length === 3 ? parts[0] : undefined, target: Number(parts.at(-1)) };
  });
}

describe("compose-wiring", () => {
  let compose: { services: Record<string, ComposeService> };
  let nats: NatsServerHandle;
  let database: TestDatabase;
  let traces: OtlpReceiver;
  const processes: ServiceProcess[] = [];
  let issuer: ChildProcess | undefined;

  before(async () => {
    // What compose itself resolves (anchors, defaults), and a check that it is valid.
    compose = parse(
      execFileSync("docker-compose", ["-f", "docker-compose.yml", "config"], { cwd: REPO_ROOT, encoding: "utf8" }),
    );
    await ensureTranspiled();
    nats = await startNatsServer({ extraConfig: readFileSync(NATS_USERS_CONF, "utf8") });
    database = await createTestDatabase();
    await applyRoles(database.url); // what compose's postgres runs from docker-entrypoint-initdb.d
    traces = await startOtlpReceiver();
  });
  after(async () => {
    issuer?.kill("SIGTERM");
    await Promise.allSettled(processes.map((p) => p.stop(5000)));
    await Promise.allSettled([nats?.stop(), database?.drop(), traces?.stop()]);
  });

  it("when compose's file is read, then it has the infrastructure, every service from one image, health-gated start-up, and matching credentials", () => {
    for (const name of ["postgres", "nats", "jaeger", "prometheus", "grafana", "issuer", ...APP_SERVICES]) {
      assert.ok(compose.services[name], `service ${name}`);
    }
    const roles = readFileSync(ROLES_SQL, "utf8");
    const users = readFileSync(NATS_USERS_CONF, "utf8");
    for (const name of APP_SERVICES) {
      const svc = compose.services[name]!;
      assert.equal(svc.image, "orderflow:local", `${name} runs the one image`);
      const check = svc.healthcheck?.test.join(" ") ?? "";
      assert.ok(
        name === "order" ? check.includes("grpc-health-probe.js") : check.includes("/readyz"),
        `${name} has a readiness healthcheck (order: the gRPC health check)`,
      );
      assert.ok(
        Object.values(svc.depends_on ?? {}).every((d) => d.condition === "service_healthy"),
        `${name} waits for health`,
      );
      const env = svc.environment ?? {};
      assert.equal(env.SERVICE, name);
      assert.ok(
        users.includes(`user: ${env.NATS_USER}, password: ${env.NATS_PASSWORD}`),
        `${name}'s NATS user is in users.conf`,
      );
      if (env.DATABASE_URL) {
        const url = new URL(env.DATABASE_URL);
        assert.ok(roles.includes(`('${url.username}', '${url.password}'`), `${name}'s Postgres role is in roles.sql`);
      }
    }
    // docker-compose 1.29 prints volumes as "source:target:mode"
    const volumes = (compose.services.postgres as unknown as { volumes: unknown[] }).volumes.map((v) =>
      typeof v === "string" ? v : `${(v as { source: string }).source}:${(v as { target: string }).target}`,
    );
    assert.ok(
      volumes.some((v) => /infra\/postgres\/roles\.sql:\/docker-entrypoint-initdb\.d\//.test(v)),
      "Postgres runs roles.sql at its first start",
    );
    // The development issuer mints for anyone who asks: reachable from this machine only.
    assert.deepEqual(
      portsOf(compose.services.issuer).map((p) => p.hostIp),
      ["127.0.0.1"],
      "the issuer is published on 127.0.0.1 only",
    );
    for (const name of ["gateway", "order"]) {
      const env = compose.services[name]?.environment ?? {};
      assert.equal(
        env.AUTH_ISSUER,
        compose.services.issuer?.environment?.AUTH_ISSUER,
        `${name} trusts the issuer's iss`,
      );
      assert.match(env.AUTH_JWKS_URL ?? "", /^http:\/\/issuer:8090\//, `${name} fetches the issuer's keys`);
    }
    const prometheus = readFileSync(join(REPO_ROOT, "infra", "prometheus", "prometheus.yml"), "utf8");
    for (const name of APP_SERVICES.filter((n) => n !== "console")) {
      // (the console has no /metrics: it shows the others')
      const port = compose.services[name]?.environment?.HTTP_PORT ?? compose.services[name]?.environment?.PORT;
      assert.ok(prometheus.includes(`"${name}:${port}"`), `Prometheus scrapes ${name}:${port}`);
    }
  });

  it("when every service starts with compose's environment, then each becomes ready and an order completes", async () => {
    // Container ports of the app services -> free local ports; compose host names -> loopback.
    const portMap = new Map<number, number>();
    for (const name of [...APP_SERVICES, "issuer"]) {
      for (const p of portsOf(compose.services[name])) portMap.set(p.target, await freePort());
    }
    const natsPort = new URL(nats.url).port;
    const otlpPort = new URL(traces.endpoint).port;
    const testDb = new URL(database.url);
    const mapValue = (key: string, value: string): string => {
      if (key === "DATABASE_URL") {
        const url = new URL(value);
        url.hostname = testDb.hostname;
        url.port = testDb.port;
        url.pathname = testDb.pathname;
        return url.toString();
      }
      if (["PORT", "HTTP_PORT", "GRPC_PORT", "DEV_ISSUER_PORT", "CONSOLE_PORT"].includes(key)) {
        return String(portMap.get(Number(value)) ?? value);
      }
      if (key === "DEV_ISSUER_KEYS_FILE")
        return join(REPO_ROOT, ".tmp", `compose-issuer-${Date.now().toString(36)}`, "keys.json");
      return value
        .replace(/\bnats:4222\b/, `127.0.0.1:${natsPort}`)
        .replace(/\b(issuer|127\.0\.0\.1):8090\b/, `127.0.0.1:${portMap.get(8090)}`)
        .replace(/\bjaeger:4318\b/, `127.0.0.1:${otlpPort}`)
        .replace(
          /\b(order|inventory|payment|notification|gateway):(\d+)\b/g,
          (_m, _h, p) => `127.0.0.1:${portMap.get(Number(p)) ?? p}`,
        );
    };

    // The issuer, from its compose command, with its compose environment.
    const issuerSvc = compose.services.issuer as ComposeService & { command: string[] };
    const issuerEnv: Record<string, string> = { ...baseEnv(), NODE_ENV: "production" };
    for (const [k, v] of Object.entries(issuerSvc.environment ?? {})) issuerEnv[k] = mapValue(k, String(v));
    const [node, ...issuerArgs] = issuerSvc.command;
    assert.equal(node, "node");
    issuer = spawn(process.execPath, issuerArgs, { cwd: REPO_ROOT, env: issuerEnv, stdio: "ignore" });
    const issuerUrl = `http://127.0.0.1:${portMap.get(8090)}`;
    await waitFor(
      "the issuer's JWKS",
      async () => (await fetch(`${issuerUrl}/.well-known/jwks.json`).catch(() => null))?.ok,
    );

    for (const name of APP_SERVICES) {
      const svc = compose.services[name]!;
      const env: Record<string, string> = { ...baseEnv(), NODE_ENV: "production" }; // NODE_ENV: the image's ENV
      for (const [k, v] of Object.entries(svc.environment ?? {})) env[k] = mapValue(k, String(v));
      const readyPort = Number(
        svc.healthcheck?.test.join(" ").match(/127\.0\.0\.1:(\d+)\/readyz/)?.[1] ?? svc.environment?.HTTP_PORT,
      );
      const proc = createServiceProcess({
        service: name,
        env,
        built: true,
        readyUrl: `http://127.0.0.1:${portMap.get(readyPort)}/readyz`,
        logFile: join(REPO_ROOT, ".tmp", "e2e-logs", `compose-${Date.now().toString(36)}`, `${name}.log`),
      });
      processes.push(proc);
    }
    await Promise.all(processes.map((p) => p.start()));

    // The order service's healthcheck, run as compose runs it (from the image's /app), against the built service.
    const [, , ...probeArgs] = compose.services.order?.healthcheck?.test ?? [];
    const probe = spawnSync(
      process.execPath,
      probeArgs.map((a) => a.replace("127.0.0.1:50051", `127.0.0.1:${portMap.get(50051)}`)),
      { cwd: REPO_ROOT, encoding: "utf8", timeout: 15_000 },
    );
    assert.equal(probe.status, 0, `the gRPC health probe: ${probe.stdout}${probe.stderr}`);
    assert.match(probe.stdout, /SERVING/);

    const gatewayUrl = `http://127.0.0.1:${portMap.get(8080)}`;
    // Tokens from compose's issuer, as `pnpm run token` asks it (POST /token).
    const mint = async (sub: string, scope?: string) => {
      const res = await fetch(`${issuerUrl}/token`, { method: "POST", body: JSON.stringify({ sub, scope }) });
      return ((await res.json()) as { access_token: string }).access_token;
    };
    registerGatewayIssuer(gatewayUrl, {
      token: (sub) => mint(sub),
      operatorToken: () => mint("ops", "orders:operator"),
    });
    const res = await postOrder(gatewayUrl, { customerId: "cust-compose", items: [{ sku: "KB-001", quantity: 1 }] });
    assert.equal(res.status, 201);
    await waitForOrder(gatewayUrl, res.body.orderId as string, (o) => o.status === "CONFIRMED" && notified(o));
    // Spans reach the OTLP endpoint compose configures, as OTLP/HTTP protobuf (what Jaeger takes),
    // within the SDK's default 5 s export interval.
    // The console, from compose's environment: it answers, and refuses a caller without a token.
    const consoleUrl = `http://127.0.0.1:${portMap.get(8085)}`;
    assert.equal((await fetch(`${consoleUrl}/api/consumers`)).status, 401);
    const signIn = await fetch(`${consoleUrl}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: await mint("ops", "orders:operator") }),
      redirect: "manual",
    });
    assert.equal(signIn.status, 303);
    const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const consumers = (await (await fetch(`${consoleUrl}/api/consumers`, { headers: { cookie } })).json()) as {
      consumers: { pending: number | null }[];
      outboxes: { pending: number | null }[];
    };
    assert.ok(
      consumers.consumers.every((c) => c.pending !== null),
      "every consumer's figures, through the console's NATS user",
    );
    assert.ok(
      consumers.outboxes.every((o) => o.pending !== null),
      "every outbox's figures, through CONSOLE_SERVICE_OPS",
    );
    await waitFor(
      "an OTLP export",
      () => traces.requests.some((r) => r.path === "/v1/traces" && r.contentType.includes("protobuf")),
      { timeoutMs: 10_000 },
    );
  });
});
