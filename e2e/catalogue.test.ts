import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { devPassword, SYSTEM } from "@orderflow/system";
import { REPO_ROOT } from "@orderflow/testing";
import { parse as parseYaml } from "yaml";

/**
 * The catalogue (packages/system) against every file that restates the
 * system's shape and cannot be derived from it. Each mismatch names the file
 * and the line (or the entry) to fix.
 */
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
  const readme = read("README.md");
  const handlers = (name: string) => {
    const dir = join(REPO_ROOT, "services", name, "src", "handlers");
    try {
      return readdirSync(dir)
        .map((f) => readFileSync(join(dir, f), "utf8"))
        .join("\n");
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
    const row = readme.split("\n").find((l) => l.startsWith(`| ${s.name} `));
    if (!row) problems.push(`README.md: no row for ${s.name} in the services table`);
    else {
      if (!row.includes(String(s.httpPort)))
        problems.push(`README.md:${lineOf(readme, row)}: ${s.name}'s port ${s.httpPort}`);
      for (const c of s.consumes) {
        if (!row.includes(c.subject))
          problems.push(`README.md:${lineOf(readme, row)}: ${s.name} consumes ${c.subject}`);
      }
    }
    const code = handlers(s.name);
    for (const c of s.consumes) {
      if (!code.includes(`durable: "${c.durable}"`)) {
        problems.push(`services/${s.name}/src/handlers: no subscription with durable "${c.durable}"`);
      }
    }
  }
  return problems;
}

describe("catalogue", () => {
  it("when every file that restates the system's shape is read, then each agrees with the catalogue", () => {
    assert.deepEqual(catalogueMismatches(), []);
  });
});
