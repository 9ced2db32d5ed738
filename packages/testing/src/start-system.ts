/**
 * The end-to-end harness: a private nats-server, a fresh Postgres database, and
 * the chosen services as separate processes on free ports, wired to each other
 * as in production. `stop()` tears everything down; call it from `after()` so
 * it runs also when a test fails.
 */
import { join } from "node:path";
import { createTestDatabase, type TestDatabase } from "./create-test-database.js";
import { freePort } from "./free-port.js";
import { type NatsServerHandle, startNatsServer } from "./start-nats-server.js";
import { baseEnv, createServiceProcess, REPO_ROOT, type ServiceProcess } from "./start-service.js";

export const SERVICE_NAMES = ["order", "inventory", "payment", "notification", "gateway"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface SystemOptions {
  /** Which services to run; started in this order (the gateway last). */
  services: ServiceName[];
  /** Extra variables per service: fault switches, unsafe toggles, tuning. */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
}

export interface System {
  nats: NatsServerHandle;
  database: TestDatabase;
  /** http://127.0.0.1:<port> of the gateway, when it runs. */
  gatewayUrl: string;
  /** 127.0.0.1:<port> of the order service's gRPC server. */
  orderGrpcAddress: string;
  service(name: ServiceName): ServiceProcess;
  /** Every service's log lines, parsed, with the service label. */
  logs(): Array<Record<string, unknown> & { service?: unknown }>;
  stop(): Promise<void>;
}

export async function startSystem(options: SystemOptions): Promise<System> {
  const runId = `${Date.now().toString(36)}`;
  const nats = await startNatsServer();
  const database = await createTestDatabase().catch(async (err) => {
    await nats.stop();
    throw err;
  });
  const processes = new Map<ServiceName, ServiceProcess>();
  const system: System = {
    nats,
    database,
    gatewayUrl: "",
    orderGrpcAddress: "",
    service(name) {
      const p = processes.get(name);
      if (!p) throw new Error(`service ${name} is not part of this system`);
      return p;
    },
    logs() {
      return [...processes.values()].flatMap((p) => p.jsonLines());
    },
    async stop() {
      await Promise.allSettled([...processes.values()].map((p) => p.stop(5000)));
      await Promise.allSettled([nats.stop(), database.drop()]);
    },
  };

  try {
    const ports = {
      orderGrpc: await freePort(),
      gateway: await freePort(),
      http: Object.fromEntries(await Promise.all(SERVICE_NAMES.map(async (n) => [n, await freePort()] as const))),
    };
    for (const name of orderedServices(options.services)) {
      const env: Record<string, string> = {
        ...baseEnv(),
        DATABASE_URL: database.url,
        NATS_URL: nats.url,
        HTTP_PORT: String(ports.http[name]),
        ...(name === "order" ? { GRPC_PORT: String(ports.orderGrpc) } : {}),
        ...(name === "gateway"
          ? { PORT: String(ports.gateway), ORDER_GRPC_ADDRESS: `127.0.0.1:${ports.orderGrpc}` }
          : {}),
        ...options.env?.[name],
      };
      const port = name === "gateway" ? ports.gateway : ports.http[name];
      const proc = createServiceProcess({
        service: name,
        env,
        readyUrl: `http://127.0.0.1:${port}/readyz`,
        logFile: join(REPO_ROOT, ".tmp", "e2e-logs", runId, `${name}.log`),
      });
      processes.set(name, proc);
      await proc.start();
    }
    system.gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
    system.orderGrpcAddress = `127.0.0.1:${ports.orderGrpc}`;
    return system;
  } catch (err) {
    await system.stop();
    throw err;
  }
}

function orderedServices(services: ServiceName[]): ServiceName[] {
  return SERVICE_NAMES.filter((n) => services.includes(n));
}
