/**
 * The end-to-end harness: a private nats-server, a fresh Postgres database, and
 * the chosen services as separate processes on free ports, wired to each other
 * as in production. `stop()` tears everything down; call it from `after()` so
 * it runs also when a test fails.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SERVICE_NAMES, type ServiceName } from "@orderflow/system";
import { createTestDatabase, type TestDatabase } from "./create-test-database.js";
import { freePort } from "./free-port.js";
import { type OtlpReceiver, startOtlpReceiver } from "./otlp-receiver.js";
import { applyRoles, NATS_USERS, NATS_USERS_CONF, urlAsRole } from "./service-credentials.js";
import { type NatsClusterHandle, startNatsCluster } from "./start-nats-cluster.js";
import { type NatsServerHandle, startNatsServer } from "./start-nats-server.js";
import { type PostgresServerHandle, startPostgresServer } from "./start-postgres-server.js";
import { baseEnv, createServiceProcess, REPO_ROOT, readyTimeoutMs, type ServiceProcess } from "./start-service.js";
import { registerGatewayIssuer, startTestIssuer, type TestIssuer } from "./test-issuer.js";
import { ensureTranspiled } from "./transpile.js";

// The services and their order come from the catalogue (packages/system).
export { SERVICE_NAMES, type ServiceName } from "@orderflow/system";

export interface SystemOptions {
  /** Which services to run; started together, each as its own process. */
  services: ServiceName[];
  /** Extra variables per service: fault switches, unsafe toggles, tuning. */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  /** More than one process of a service (default 1); replica n is labelled "<name>-<n>". */
  replicas?: Partial<Record<ServiceName, number>>;
  /**
   * "private": a Postgres server of this system's own (initdb on a free port),
   * which the test may stop and start (system.postgres). Default: a fresh
   * database on the shared server.
   */
  postgres?: "shared" | "private";
  /** Restart a service process that exits without stop() (see createServiceProcess). */
  supervise?: boolean;
  /**
   * Run the services from dist/ as the image does (default), or from their
   * TypeScript sources through tsx (false). dist/ is made from the current
   * sources first (ensureTranspiled), unless `transpile: false` says that a
   * `pnpm build` made it.
   */
  built?: boolean;
  transpile?: boolean;
  /** A three-node JetStream cluster instead of one nats-server; streams get STREAM_REPLICAS=3. */
  natsCluster?: boolean;
  /** How long each service may take to become ready (default SERVICE_READY_TIMEOUT_MS, else 90 s). */
  readyTimeoutMs?: number;
}

export interface System {
  /**
   * nats-server with the per-service users; connect as NATS_USERS.operator to inspect it.
   * With natsCluster, `url` lists the three nodes; act on a node through `natsCluster`.
   */
  nats: NatsServerHandle;
  natsCluster?: NatsClusterHandle;
  /** Every span the services exported (OTLP/HTTP JSON). */
  traces: OtlpReceiver;
  /** The token issuer the gateway and the order service trust: mint tokens, rotate keys, stop its JWKS. */
  auth: TestIssuer;
  database: TestDatabase;
  /** The system's own Postgres server, with postgres: "private". */
  postgres?: PostgresServerHandle;
  /** http://127.0.0.1:<port> of the gateway, when it runs. */
  gatewayUrl: string;
  /** Every gateway replica's URL (replica 1 first). */
  gatewayUrls: string[];
  /** 127.0.0.1:<port> of the order service's gRPC server. */
  orderGrpcAddress: string;
  service(name: ServiceName): ServiceProcess;
  /** Replica n (1-based) of a service; replica 1 is service(name). */
  replica(name: ServiceName, n: number): ServiceProcess;
  /** Every service's log lines, parsed, with the service label. */
  logs(): Array<Record<string, unknown> & { service?: unknown }>;
  stop(): Promise<void>;
}

export async function startSystem(options: SystemOptions): Promise<System> {
  const runId = `${Date.now().toString(36)}-${process.pid}`;
  const built = options.built ?? true;
  if (built && options.transpile !== false) await ensureTranspiled();
  // The same users and permissions as docker compose: each service its own NATS user.
  // (inlined: nats-server resolves `include` relative to the including file)
  const natsCluster = options.natsCluster
    ? await startNatsCluster({
        extraConfig: readFileSync(NATS_USERS_CONF, "utf8"),
        user: NATS_USERS.operator.user,
        pass: NATS_USERS.operator.password,
      })
    : undefined;
  const nats: NatsServerHandle = natsCluster
    ? clusterAsServer(natsCluster)
    : await startNatsServer({ extraConfig: readFileSync(NATS_USERS_CONF, "utf8") });
  const traces = await startOtlpReceiver();
  const auth = await startTestIssuer();
  const postgres = options.postgres === "private" ? await startPostgresServer() : undefined;
  const database = await createTestDatabase(postgres?.url)
    .then(async (db) => {
      await applyRoles(db.url); // each service connects as its own role
      return db;
    })
    .catch(async (err) => {
      await nats.stop();
      await postgres?.destroy();
      throw err;
    });
  const processes = new Map<string, ServiceProcess>();
  const system: System = {
    nats,
    natsCluster,
    traces,
    auth,
    database,
    postgres,
    gatewayUrl: "",
    gatewayUrls: [],
    orderGrpcAddress: "",
    service(name) {
      return system.replica(name, 1);
    },
    replica(name, n) {
      const p = processes.get(n === 1 ? name : `${name}-${n}`);
      if (!p) throw new Error(`service ${name} (replica ${n}) is not part of this system`);
      return p;
    },
    logs() {
      return [...processes.values()].flatMap((p) => p.jsonLines());
    },
    async stop() {
      await Promise.allSettled([...processes.values()].map((p) => p.stop(5000)));
      await Promise.allSettled([nats.stop(), database.drop(), traces.stop(), auth.server.stop()]);
      await postgres?.destroy();
    },
  };

  try {
    const ports = {
      orderGrpc: await freePort(),
      // Replicas 2.. of the order service: the gateway balances over all of them.
      moreOrderGrpc: await Promise.all(
        Array.from({ length: Math.max(0, (options.replicas?.order ?? 1) - 1) }, () => freePort()),
      ),
      gateway: await freePort(),
      http: Object.fromEntries(await Promise.all(SERVICE_NAMES.map(async (n) => [n, await freePort()] as const))),
    };
    for (const name of orderedServices(options.services)) {
      for (let n = 1; n <= (options.replicas?.[name] ?? 1); n++) {
        const label = n === 1 ? name : `${name}-${n}`;
        const httpPort = n === 1 ? ports.http[name] : await freePort();
        const grpcPort = n === 1 ? ports.orderGrpc : (ports.moreOrderGrpc[n - 2] as number);
        const env: Record<string, string> = {
          ...baseEnv(),
          ...(name === "gateway" ? {} : { DATABASE_URL: urlAsRole(database.url, name) }),
          NATS_URL: nats.url,
          ...(natsCluster ? { STREAM_REPLICAS: "3" } : {}),
          NATS_USER: NATS_USERS[name].user,
          NATS_PASSWORD: NATS_USERS[name].password,
          HTTP_PORT: String(httpPort),
          // Wake-ups come from LISTEN/NOTIFY; a short poll keeps outage recovery quick in tests.
          OUTBOX_POLL_MS: "200",
          OTEL_SERVICE_NAME: name,
          OTEL_EXPORTER_OTLP_ENDPOINT: traces.endpoint,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_BSP_SCHEDULE_DELAY: "100",
          ...(name === "order" ? { GRPC_PORT: String(grpcPort), ...auth.env } : {}),
          ...(name === "gateway"
            ? {
                PORT: String(n === 1 ? ports.gateway : httpPort),
                ...auth.env,
                ORDER_GRPC_ADDRESS: [ports.orderGrpc, ...ports.moreOrderGrpc].map((p) => `127.0.0.1:${p}`).join(","),
                // Every test client is 127.0.0.1: one shared, generous limit.
                RATE_LIMIT_MAX: "1000000",
              }
            : {}),
          ...options.env?.[name],
        };
        const port = name === "gateway" && n === 1 ? ports.gateway : httpPort;
        const proc = createServiceProcess({
          service: name,
          label,
          env,
          readyUrl: `http://127.0.0.1:${port}/readyz`,
          readyTimeoutMs: options.readyTimeoutMs ?? readyTimeoutMs(),
          supervise: options.supervise,
          built,
          logFile: join(REPO_ROOT, ".tmp", "e2e-logs", runId, `${label}.log`),
        });
        processes.set(label, proc);
      }
    }
    // No service needs another to start (provisioning is idempotent and race-safe): start them together.
    await Promise.all([...processes.values()].map((p) => p.start()));
    // On a loaded machine this is the figure to watch: each service's start against the budget.
    const budget = options.readyTimeoutMs ?? readyTimeoutMs();
    console.log(
      `services ready (budget ${budget / 1000} s each, SERVICE_READY_TIMEOUT_MS): ${[...processes.values()]
        .map((p) => `${p.label} ${(p.readyMs / 1000).toFixed(1)} s`)
        .join(", ")}`,
    );
    system.gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
    system.orderGrpcAddress = `127.0.0.1:${ports.orderGrpc}`;
    system.gatewayUrls = [...processes.values()]
      .filter((p) => p.label === "gateway" || p.label.startsWith("gateway-"))
      .map((p) => `http://127.0.0.1:${p.env.PORT}`);
    for (const url of system.gatewayUrls) registerGatewayIssuer(url, auth);
    return system;
  } catch (err) {
    await system.stop();
    throw err;
  }
}

function orderedServices(services: ServiceName[]): ServiceName[] {
  return SERVICE_NAMES.filter((n) => services.includes(n));
}

/** The cluster seen as one server: its URL lists every node; a whole-server fault is refused. */
function clusterAsServer(cluster: NatsClusterHandle): NatsServerHandle {
  const perNode = () => {
    throw new Error("a cluster has no single server to pause or restart: act on system.natsCluster's nodes");
  };
  return {
    url: cluster.url,
    port: Number(new URL(cluster.nodes[0]?.url ?? "nats://127.0.0.1:0").port),
    storeDir: "",
    pid: undefined,
    stop: () => cluster.stop(),
    restart: async () => perNode(),
    pause: async () => perNode(),
    resume: async () => perNode(),
    crash: async () => perNode(),
  };
}
