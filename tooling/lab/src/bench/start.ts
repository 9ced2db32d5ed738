/**
 * The start stage: the system as the image runs it (compiled dist/, `pnpm
 * build` first unless skipped), default log level, telemetry on with OTLP
 * export to an address where nothing listens (a user without a collector); its
 * own database and nats-server; every SKU of the mix in stock but the one that
 * is out of stock on purpose; a bearer token per customer of the mix.
 */
import { execFileSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { createVerifier } from "@orderflow/auth";
import { freePort, REPO_ROOT, SERVICE_NAMES, type ServiceName, type System, startSystem } from "@orderflow/stack";
import { round, rssMb } from "../load.js";

export function build() {
  console.log("building (pnpm build) ...");
  execFileSync("pnpm", ["build"], { cwd: REPO_ROOT, stdio: "ignore" });
}

export async function startMeasuredSystem(serviceEnv: Record<string, string>): Promise<System> {
  const deadOtlp = `http://127.0.0.1:${await freePort()}`;
  const env = Object.fromEntries(
    SERVICE_NAMES.map((name) => [
      name,
      {
        LOG_LEVEL: "info",
        OTEL_EXPORTER_OTLP_ENDPOINT: deadOtlp,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
        ...serviceEnv,
      },
    ]),
  ) as unknown as Record<ServiceName, Record<string, string>>;
  console.log("starting the system (compiled, as the image runs it) ...");
  return startSystem({ services: [...SERVICE_NAMES], built: true, transpile: false, env });
}

/** Stock for the whole run, then each service's idle RSS (MB) after a short settle. */
export async function prepare(system: System, db: { query: (sql: string) => Promise<unknown> }) {
  await db.query("UPDATE inventory.stock SET available = CASE WHEN sku = 'LT-001' THEN 0 ELSE 100000000 END");
  await sleep(3000);
  return Object.fromEntries(
    SERVICE_NAMES.map((name) => [name, round(rssMb(system.service(name).pid ?? 0), 0)]),
  ) as Record<ServiceName, number>;
}

/** A bearer token per customer of the mix (bench-0 .. bench-999). */
export async function mintTokens(system: System): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < 1000; i++) tokens[i] = await system.auth.token(`bench-${i}`);
  return tokens;
}

/**
 * CPU µs one full verification of a bearer token takes (signature, claims; keys cached): a gauge of
 * this machine's speed in the hour of the run. The services remember a verified token for a while
 * (packages/auth), so they pay it once per token and minute, not per call; this measures it uncached.
 */
export async function verificationCost(system: System, tokens: string[]): Promise<number> {
  const verifier = createVerifier({ ...system.auth.verifierConfig, verifiedCacheMs: 0 });
  await verifier.warmUp();
  for (let i = 0; i < 500; i++) await verifier.verify(tokens[i % tokens.length] as string); // JIT
  const n = 5000;
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await verifier.verify(tokens[i % tokens.length] as string);
  const used = process.cpuUsage(before);
  return round((used.user + used.system) / n, 1);
}
