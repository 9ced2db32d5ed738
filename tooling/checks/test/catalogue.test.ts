import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { HEADERS, STREAMS } from "@orderflow/contracts";
import { REPO_ROOT } from "@orderflow/stack";
import { CONSOLE, devPassword, SYSTEM } from "@orderflow/system";
import { parse as parseYaml } from "yaml";

/**
 * The catalogue (packages/system) against every file that restates the
 * system's shape and cannot be derived from it. Each mismatch names the file
 * and the line (or the entry) to fix.
 */
/** Where the streams and the pattern table live (the services table there is generated: pnpm reference). */
const ARCHITECTURE = "docs/architecture.md";
const read = (path: string) => readFileSync(join(REPO_ROOT, path), "utf8");
const lineOf = (text: string, needle: string) => text.split("\n").findIndex((l) => l.includes(needle)) + 1;

export function catalogueMismatches(): string[] {
  const problems: string[] = [];
  const compose = parseYaml(
    execFileSync("docker-compose", ["-f", "docker-compose.yml", "config"], { cwd: REPO_ROOT, encoding: "utf8" }),
  ) as { services: Record<string, { environment?: Record<string, string>; ports?: { target: number }[] }> };
  const users = read("infra/nats/users.conf");
  const roles = read("infra/postgres/roles.sql");
  const prometheus = read("infra/prometheus/prometheus.yml");
  const subscriptions = (name: string) => {
    try {
      return read(`services/${name}/src/subscriptions.ts`);
    } catch {
      return "";
    }
  };

  for (const s of SYSTEM) {
    const env = compose.services[s.name]?.environment;
    if (!env) {
      problems.push(`docker-compose.yml: no service ${s.name}`);
      continue;
    }
    const port = env.HTTP_PORT ?? env.PORT;
    if (Number(port) !== s.httpPort)
      problems.push(`docker-compose.yml: ${s.name}'s HTTP port is ${port}, not ${s.httpPort}`);
    if ("grpcPort" in s && Number(env.GRPC_PORT) !== s.grpcPort) {
      problems.push(`docker-compose.yml: ${s.name}'s GRPC_PORT is ${env.GRPC_PORT}, not ${s.grpcPort}`);
    }
    if (env.NATS_USER !== s.name || env.NATS_PASSWORD !== devPassword(s.name)) {
      problems.push(`docker-compose.yml: ${s.name}'s NATS_USER/NATS_PASSWORD are not ${s.name}/${devPassword(s.name)}`);
    }
    const userLine = `{ user: ${s.name}, password: ${devPassword(s.name)}`;
    if (!users.includes(userLine)) problems.push(`infra/nats/users.conf: no line "${userLine}"`);
    if ("publishes" in s && !users.includes(`"${s.publishes}.>"`)) {
      problems.push(`infra/nats/users.conf: ${s.name} may not publish "${s.publishes}.>"`);
    }
    if ("database" in s) {
      const url = new URL(env.DATABASE_URL ?? "postgres://x@y/z");
      if (url.username !== s.database.role) {
        problems.push(`docker-compose.yml: ${s.name}'s DATABASE_URL user is ${url.username}, not ${s.database.role}`);
      }
      const row = `('${s.database.role}', '${devPassword(s.name)}', '${s.database.schema}')`;
      if (!roles.includes(row)) problems.push(`infra/postgres/roles.sql: no row ${row}`);
    }
    if (!prometheus.includes(`"${s.name}:${s.httpPort}"`)) {
      problems.push(
        `infra/prometheus/prometheus.yml:${lineOf(prometheus, "targets")}: no target "${s.name}:${s.httpPort}"`,
      );
    }
    const code = subscriptions(s.name);
    for (const c of s.consumes) {
      if (!code.includes(`durable: "${c.durable}"`)) {
        problems.push(`services/${s.name}/src/subscriptions.ts: no subscription with durable "${c.durable}"`);
      }
    }
  }
  // The console: its compose service, its NATS user.
  const consoleEnv = compose.services[CONSOLE.name]?.environment;
  if (!consoleEnv) problems.push(`docker-compose.yml: no service ${CONSOLE.name}`);
  else {
    if (Number(consoleEnv.CONSOLE_PORT) !== CONSOLE.httpPort) {
      problems.push(
        `docker-compose.yml: the console's CONSOLE_PORT is ${consoleEnv.CONSOLE_PORT}, not ${CONSOLE.httpPort}`,
      );
    }
    if (consoleEnv.NATS_USER !== CONSOLE.name || consoleEnv.NATS_PASSWORD !== devPassword(CONSOLE.name)) {
      problems.push(
        `docker-compose.yml: the console's NATS_USER/NATS_PASSWORD are not ${CONSOLE.name}/${devPassword(CONSOLE.name)}`,
      );
    }
  }
  if (!users.includes(`{ user: ${CONSOLE.name}, password: ${devPassword(CONSOLE.name)}`)) {
    problems.push(`infra/nats/users.conf: no line for the console's user`);
  }
  // Streams: one per publishing domain (proto/src/subjects.ts), each consumed subject in one of them.
  const domains = SYSTEM.flatMap((s) => ("publishes" in s ? [s.publishes as string] : []));
  for (const [name, subjects] of Object.entries(STREAMS)) {
    if (name !== "DEAD_LETTERS" && !domains.includes(subjects.replace(".>", ""))) {
      problems.push(`proto/src/subjects.ts: stream ${name} (${subjects}) is published by no service of the catalogue`);
    }
  }
  for (const domain of domains) {
    if (!Object.values(STREAMS).includes(`${domain}.>` as never)) {
      problems.push(`proto/src/subjects.ts: no stream for the domain ${domain}`);
    }
  }
  for (const c of SYSTEM.flatMap((s): { durable: string; subject: string }[] => [...s.consumes])) {
    if (!domains.includes(c.subject.split(".")[0] as string)) {
      problems.push(`packages/system/src/index.ts: ${c.durable} consumes ${c.subject}, which no service publishes`);
    }
  }
  return problems;
}

/**
 * The architecture page's prose and tables that name code: the streams and headers of
 * "Streams, subjects, consumers" against contracts, and every file of the
 * "Where each pattern lives" table (a bare name is in the folder of the path before it).
 */
export function readmeCodeMismatches(readme = read(ARCHITECTURE)): string[] {
  const problems: string[] = [];
  const start = readme.indexOf("### Streams, subjects, consumers");
  const streams = readme.slice(start, readme.indexOf("\n## ", start));
  for (const [name, subjects] of Object.entries(STREAMS)) {
    if (!streams.includes(`\`${name}\``) || !streams.includes(`\`${subjects}\``)) {
      problems.push(
        `docs/architecture.md:${lineOf(readme, "Streams (file storage")}: stream ${name} (${subjects}) is not listed`,
      );
    }
  }
  for (const header of Object.values(HEADERS)) {
    if (!streams.includes(`\`${header}\``)) {
      problems.push(`docs/architecture.md:${lineOf(readme, "Headers:")}: header ${header} is not listed`);
    }
  }
  const table = readme.slice(readme.indexOf("| pattern | file |"), readme.indexOf("\nLayout:"));
  for (const row of table.split("\n").slice(2)) {
    let folder = "";
    for (const [, path] of row.split("|")[2]?.matchAll(/`([^`]+)`/g) ?? []) {
      if (!path) continue;
      const full = path.includes("/") ? path : `${folder}${path}`;
      folder = full.endsWith("/") ? full : full.slice(0, full.lastIndexOf("/") + 1);
      if (!existsSync(join(REPO_ROOT, full)))
        problems.push(`docs/architecture.md:${lineOf(readme, row)}: no file ${full}`);
    }
  }
  return problems;
}

describe("catalogue", () => {
  it("when every file that restates the system's shape is read, then each agrees with the catalogue", () => {
    assert.deepEqual(catalogueMismatches(), []);
  });

  it("when the architecture page's streams, headers and pattern table are read, then each names what the code has", () => {
    assert.deepEqual(readmeCodeMismatches(), []);
    // And it can fail: a renamed file, a dropped header.
    const broken = read(ARCHITECTURE)
      .replace("`packages/messaging/src/batch-delivery.ts`", "`packages/messaging/src/batch-deliveries.ts`")
      .replace("`X-Causation-ID`", "`X-Cause`");
    assert.deepEqual(
      readmeCodeMismatches(broken).map((p) => p.replace(/:\d+:/, ":N:")),
      [
        "docs/architecture.md:N: header X-Causation-ID is not listed",
        "docs/architecture.md:N: no file packages/messaging/src/batch-deliveries.ts",
      ],
    );
  });
});
