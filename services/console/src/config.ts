/** The only file of the console that reads process.env. */
import {
  authSettings,
  commonSettings,
  messagingSettings,
  natsSettings,
  parse,
  readSettings,
  verifierConfig,
} from "@orderflow/config";
import { CONSOLE, SYSTEM } from "@orderflow/system";

function parseOps(raw: string): Record<string, string> {
  return Object.fromEntries(
    raw.split(",").map((pair) => {
      const [name, url] = pair.split("=").map((s) => s.trim());
      if (!name || !url) throw new Error(`expected name=URL pairs, not ${JSON.stringify(pair)}`);
      new URL(url);
      return [name, url];
    }),
  );
}

/** Where each service's ops port answers /metrics, by default on this machine at its catalogue port. */
const defaultOps = parseOps(SYSTEM.map((s) => `${s.name}=http://127.0.0.1:${s.httpPort}`).join(","));

export const consoleSettings = {
  ...commonSettings,
  port: {
    env: "CONSOLE_PORT",
    description: "HTTP port of the console (pages, its JSON, and OTLP/HTTP JSON spans at /v1/traces)",
    default: CONSOLE.httpPort,
    parse: parse.integer(0, 65535),
  },
  host: {
    env: "CONSOLE_HOST",
    description: "bind address: 127.0.0.1 by default (the console is an operator's tool, not a public page)",
    default: "127.0.0.1",
    parse: parse.string,
  },
  orderGrpcAddress: {
    env: "ORDER_GRPC_ADDRESS",
    description: "host:port of the order service's gRPC server (orders are read there, as the operator signed in)",
    default: "127.0.0.1:50051",
    parse: parse.string,
  },
  serviceOps: {
    env: "CONSOLE_SERVICE_OPS",
    description: "name=URL of each service's ops port, comma-separated (the outbox figures come from their /metrics)",
    default: defaultOps,
    parse: parseOps,
  },
  traceBufferSpans: {
    env: "CONSOLE_TRACE_BUFFER_SPANS",
    description: "spans kept for the waterfall (the oldest go first)",
    default: 50_000,
    parse: parse.integer(100, 10_000_000),
  },
  jaegerUiUrl: {
    env: "CONSOLE_JAEGER_UI_URL",
    description: "a Jaeger UI to link each trace to (empty: no link)",
    default: "http://localhost:16686",
    parse: (raw: string) => raw,
  },
  // A redrive from the console refuses a dead letter older than the consumers' inbox window.
  inboxRetentionHours: messagingSettings.inboxRetentionHours,
  ...natsSettings,
  ...authSettings,
} as const;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const settings = readSettings(consoleSettings, env);
  return { ...settings, verifier: verifierConfig(settings) };
}

export type ConsoleConfig = ReturnType<typeof loadConfig>;
