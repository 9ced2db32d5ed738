/**
 * pnpm start: the whole system on this machine, without Docker.
 *
 * - Postgres: DATABASE_URL if set; else the server on 127.0.0.1:5432 if one
 *   answers (database "orderflow", created if missing); else a private one
 *   started from the installed binaries (initdb + pg_ctl) under .tmp/local.
 *   Each service then connects as its own role (infra/postgres/roles.sql, applied
 *   here when the URL's user may; otherwise all use DATABASE_URL's user).
 * - NATS: NATS_URL if set (as given); else nats-server with JetStream started
 *   here, with the per-service users of infra/nats/users.conf, on 4222 or, when
 *   that is taken, a free port (store under .tmp/local).
 * - A development token issuer (OpenID configuration, JWKS, POST /token for
 *   `pnpm -s run token --sub c-1`) on 127.0.0.1:8090, run inside this process,
 *   its ES256 keys kept under .tmp/local so that tokens survive a restart; the
 *   gateway and the order service trust it (AUTH_ISSUER), unless AUTH_ISSUER is
 *   set, in which case no issuer is started and that one is trusted.
 * - The console (services/console) on 127.0.0.1:8085: orders, consumers, dead
 *   letters and each order's trace; the services export their spans to it
 *   (OTLP/HTTP JSON) unless OTEL_EXPORTER_OTLP_ENDPOINT is set (e.g. to a Jaeger).
 * - The five services as separate processes (each migrates its own schema;
 *   inventory seeds the catalogue), their logs interleaved and readable; run
 *   from dist/ as the image runs them, transpiled from the current sources
 *   first (about a second; transpile.ts), which starts each in a fraction of
 *   the time tsx takes.
 * - A service that dies is restarted by a supervisor (growing delay) and the
 *   exit is printed: reported, never hidden.
 * - Ctrl-C (or SIGTERM) stops the services gracefully, then what was started here.
 *
 * Ports: gateway 8080, order gRPC 50051, ops 8081-8084, console 8085, issuer 8090; PORT_OFFSET shifts them all.
 * REPLICAS=n: n processes of every service (replica k on the ports + 100 * (k - 1)).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { createIssuer, keysFromFile, serveIssuer } from "@orderflow/auth";
import { CONSOLE, SERVICE_NAMES, type ServiceName, SYSTEM, service } from "@orderflow/system";
import pg from "pg";
import { freePort } from "./free-port.js";
import { applyRoles, NATS_USERS, NATS_USERS_CONF, type PG_ROLES, urlAsRole } from "./service-credentials.js";
import { createServiceProcess, REPO_ROOT, type ServiceProcess } from "./start-service.js";
import { transpileWorkspace } from "./transpile.js";
import { waitFor } from "./wait-for.js";

const offset = Number(process.env.PORT_OFFSET ?? 0);
if (!Number.isInteger(offset) || offset < 0 || 50051 + offset > 65535) {
  console.error(`PORT_OFFSET=${process.env.PORT_OFFSET}: expected a whole number from 0 to ${65535 - 50051}`);
  process.exit(2);
}
const port = (p: number) => p + offset;
const LOCAL = join(REPO_ROOT, ".tmp", "local");
const started: { name: string; stop: () => Promise<void> | void }[] = [];

const colour = (name: string) =>
  [33, 36, 35, 32, 34, 31, 93, 96][[...SERVICE_NAMES, CONSOLE.name].indexOf(name as ServiceName) % 8];
function print(name: string, line: string, label: string = name) {
  const tag = `\x1b[${colour(name)}m${label.padEnd(14)}\x1b[0m`;
  try {
    const { time, level, msg, service: _s, ...rest } = JSON.parse(line) as Record<string, unknown>;
    const keep = Object.entries(rest)
      .filter(([k]) => !["traceFlags", "spanId", "reqId"].includes(k))
      .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`)
      .join(" ");
    const lvl = String(level).toUpperCase().padEnd(5);
    console.log(`${String(time).slice(11, 23)} ${tag} ${lvl} ${msg} \x1b[2m${keep}\x1b[0m`);
  } catch {
    console.log(`${tag} ${line}`);
  }
}

const reachable = (host: string, p: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(p, host);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });

function pgBin(name: string): string {
  const dirs = existsSync("/usr/lib/postgresql")
    ? readdirSync("/usr/lib/postgresql").map((v) => `/usr/lib/postgresql/${v}/bin`)
    : [];
  const found = dirs.map((d) => join(d, name)).find((f) => existsSync(f));
  return found ?? name;
}

async function postgres(): Promise<string> {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  if (!(await reachable("127.0.0.1", 5432))) {
    const dir = join(LOCAL, "postgres");
    const asPostgres = process.getuid?.() === 0; // initdb refuses to run as root
    const run = (bin: string, args: string[]) =>
      execFileSync(
        asPostgres ? "runuser" : pgBin(bin),
        asPostgres ? ["-u", "postgres", "--", pgBin(bin), ...args] : args,
        {
          stdio: "inherit",
        },
      );
    if (!existsSync(join(dir, "PG_VERSION"))) {
      mkdirSync(dir, { recursive: true });
      if (asPostgres) execFileSync("chown", ["-R", "postgres", LOCAL]);
      run("initdb", ["-D", dir, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
    }
    run("pg_ctl", [
      "-D",
      dir,
      "-l",
      join(dir, "server.log"),
      "-o",
      "-p 5432 -c listen_addresses=127.0.0.1 -k /tmp",
      "-w",
      "start",
    ]);
    started.push({
      name: "postgres",
      stop: () => {
        run("pg_ctl", ["-D", dir, "-m", "fast", "-w", "stop"]);
      },
    });
  }
  const admin = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
  await admin.connect();
  const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'orderflow'");
  if (exists.rowCount === 0) await admin.query("CREATE DATABASE orderflow");
  await admin.end();
  return "postgres://postgres@127.0.0.1:5432/orderflow";
}

async function nats(): Promise<{ url: string; withUsers: boolean }> {
  if (process.env.NATS_URL) return { url: process.env.NATS_URL, withUsers: false };
  const natsPort = (await reachable("127.0.0.1", 4222)) ? await freePort() : 4222;
  mkdirSync(join(LOCAL, "nats"), { recursive: true });
  const conf = join(LOCAL, "nats", "nats.conf");
  writeFileSync(
    conf,
    // nats-server resolves `include` relative to the including file: inline the users instead.
    `host: 127.0.0.1\nport: ${natsPort}\njetstream { store_dir: "${join(LOCAL, "nats", "js")}" }\n${readFileSync(NATS_USERS_CONF, "utf8")}`,
  );
  const child: ChildProcess = spawn("nats-server", ["-c", conf], { stdio: "ignore" });
  started.push({ name: "nats-server", stop: () => void child.kill("SIGTERM") });
  await waitFor("nats-server", () => reachable("127.0.0.1", natsPort));
  return { url: `nats://127.0.0.1:${natsPort}`, withUsers: true };
}

/** Each service's own role, where the roles could be created; else the given URL for all. */
async function serviceDatabaseUrls(url: string): Promise<(service: keyof typeof PG_ROLES) => string> {
  try {
    await applyRoles(url);
    return (service) => urlAsRole(url, service);
  } catch (err) {
    console.warn(
      `could not create the per-service roles (${(err as Error).message}); every service uses DATABASE_URL's user`,
    );
    return () => url;
  }
}

/** The issuer the services trust: the development issuer started here, or AUTH_ISSUER's. */
async function issuer(): Promise<{ url: string; startedHere: boolean }> {
  if (process.env.AUTH_ISSUER) return { url: process.env.AUTH_ISSUER, startedHere: false };
  const issuerPort = port(8090);
  const url = `http://127.0.0.1:${issuerPort}`;
  const dev = await createIssuer({
    issuerUrl: url,
    audience: process.env.AUTH_AUDIENCE ?? "orderflow-api",
    keys: await keysFromFile(join(LOCAL, "dev-issuer", "keys.json")),
  });
  const server = await serveIssuer(dev, { port: issuerPort, mint: true });
  started.push({ name: "development issuer", stop: () => server.stop() });
  return { url, startedHere: true };
}

const transpiling = transpileWorkspace();
transpiling.catch(() => {}); // reported where it is awaited, below
const databaseUrl = await postgres();
const databaseUrlOf = await serviceDatabaseUrls(databaseUrl);
const { url: natsUrl, withUsers } = await nats();
const trusted = await issuer();
const natsUser = (service: keyof typeof NATS_USERS) =>
  withUsers ? { NATS_USER: NATS_USERS[service].user, NATS_PASSWORD: NATS_USERS[service].password } : {};
// Every variable of the shell reaches every service (RATE_LIMIT_MAX, CONSUMER_CONCURRENCY,
// LOG_LEVEL, OTEL_*, fault switches ...); only the wiring below (URLs, ports, credentials) is
// set here, because it differs per service.
const consoleUrl = `http://127.0.0.1:${port(CONSOLE.httpPort)}`;
// Spans go to the console (its waterfall needs no Docker), unless the shell points them elsewhere.
const traces: Record<string, string> = process.env.OTEL_EXPORTER_OTLP_ENDPOINT
  ? {}
  : { OTEL_EXPORTER_OTLP_ENDPOINT: consoleUrl, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" };
const common: Record<string, string> = {
  ...(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined)) as Record<string, string>),
  NODE_ENV: process.env.NODE_ENV ?? "development",
  LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
  NATS_URL: natsUrl,
  AUTH_ISSUER: trusted.url,
  ...traces,
};
// REPLICAS=n runs n processes of every service; replica k's ports are the first's + 100 * (k - 1),
// and the gateways balance over every order replica (round-robin).
const replicas = Number(process.env.REPLICAS ?? 1);
if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) {
  console.error(`REPLICAS=${process.env.REPLICAS}: expected a whole number from 1 to 5`);
  process.exit(2);
}
const at = (p: number, replica: number) => port(p) + 100 * (replica - 1);
const grpcPortOf = (name: ServiceName) => service(name).grpcPort;
const orderAddresses = Array.from(
  { length: replicas },
  (_, i) => `127.0.0.1:${at(grpcPortOf("order") ?? 50051, i + 1)}`,
).join(",");
// Every service of the catalogue (packages/system), each on its catalogue ports (+ PORT_OFFSET).
const services: [ServiceName, number, Record<string, string>, number][] = [];
for (let r = 1; r <= replicas; r++) {
  for (const s of SYSTEM) {
    const httpPort = at(s.httpPort, r);
    const grpcPort = grpcPortOf(s.name);
    const env: Record<string, string> =
      s.role === "edge"
        ? { PORT: String(httpPort), ORDER_GRPC_ADDRESS: orderAddresses }
        : { HTTP_PORT: String(httpPort), DATABASE_URL: databaseUrlOf(s.name as keyof typeof PG_ROLES) };
    if (grpcPort) env.GRPC_PORT = String(at(grpcPort, r));
    services.push([s.name, r, env, httpPort]);
  }
}
// The console: one process, whatever REPLICAS says; it reads the first replica of each service.
const consoleEnv: Record<string, string> = {
  ...common,
  ...(withUsers ? { NATS_USER: NATS_USERS.console.user, NATS_PASSWORD: NATS_USERS.console.password } : {}),
  OTEL_SDK_DISABLED: "true", // it receives the spans; it sends none (not to itself)
  CONSOLE_PORT: String(port(CONSOLE.httpPort)),
  ORDER_GRPC_ADDRESS: `127.0.0.1:${at(grpcPortOf("order") ?? 50051, 1)}`,
  CONSOLE_SERVICE_OPS: SYSTEM.filter((s) => s.role !== "edge")
    .map((s) => `${s.name}=http://127.0.0.1:${at(s.httpPort, 1)}`)
    .join(","),
};
const processes: ServiceProcess[] = services.map(([name, replica, env, readyPort]) => {
  const label = replica === 1 ? name : `${name}-${replica}`;
  return createServiceProcess({
    service: name,
    label,
    env: { ...common, ...natsUser(name), ...env, OTEL_SERVICE_NAME: name } as Record<string, string>,
    readyUrl: `http://127.0.0.1:${readyPort}/readyz`,
    onLine: (line) => print(name, line, label),
    ownProcessGroup: true,
    built: true,
    // A service that dies is restarted (with a growing delay) and reported, as compose's restart policy does.
    supervise: true,
    onSupervisorEvent: (message) => console.log(`\x1b[1;31m${"supervisor".padEnd(12)}\x1b[0m ${label}: ${message}`),
  });
});

processes.push(
  createServiceProcess({
    service: CONSOLE.name,
    env: consoleEnv,
    readyUrl: `${consoleUrl}/readyz`,
    onLine: (line) => print("console", line),
    ownProcessGroup: true,
    built: true,
    supervise: true,
    onSupervisorEvent: (message) => console.log(`\x1b[1;31m${"supervisor".padEnd(12)}\x1b[0m console: ${message}`),
  }),
);

let stopping = false;
async function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  console.log("\nstopping the services ...");
  await Promise.allSettled(processes.map((p) => p.stop(15_000)));
  for (const s of started.reverse()) {
    console.log(`stopping ${s.name} ...`);
    await s.stop();
  }
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

try {
  await transpiling;
  await Promise.all(processes.map((p) => p.start()));
} catch (err) {
  console.error(`a service did not start: ${(err as Error).message}`);
  await stopAll(1);
}
console.log(`
  orderflow is running (ready ${process.uptime().toFixed(1)} s after pnpm start)
    gateway (HTTP API)   http://127.0.0.1:${port(8080)}   every /api/v1 call needs a bearer token:
                         TOKEN=$(pnpm -s run token --sub c-1)
                         curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:${port(8080)}/api/v1/inventory
    console              ${consoleUrl}   sign in with: pnpm -s run token --sub ops --scope orders:operator
    token issuer         ${trusted.url}${trusted.startedHere ? " (development: POST /token mints for anyone on this machine)" : " (AUTH_ISSUER)"}
    order gRPC           127.0.0.1:${port(50051)}
    metrics              http://127.0.0.1:${port(8081)}/metrics (order) ... ${port(8084)} (notification), ${port(8080)}/metrics (gateway)
    traces               OTLP to ${process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? `the console (${consoleUrl}); OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 for a Jaeger instead`}
    Postgres             ${databaseUrl} (each service as its own role)
    NATS                 ${natsUrl}${withUsers ? " (each service as its own user; the dlq command: NATS_USER=operator NATS_PASSWORD=operator-dev-password)" : ""}
    replicas             ${replicas} of each service${replicas > 1 ? " (replica k: every port + 100 * (k - 1); the gateways balance over the order replicas)" : " (REPLICAS=n for more)"}
  Try it: pnpm demo      Stop: Ctrl-C
`);
