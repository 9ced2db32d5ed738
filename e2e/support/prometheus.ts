/**
 * Debian's Prometheus server (the `prometheus` package, beside promtool),
 * scraping every service of a running system with the project's alert rules
 * (their expressions as written; their `for:` durations as written, or divided
 * by `forDividedBy`), at a short scrape and evaluation interval.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, REPO_ROOT, waitFor } from "@orderflow/stack";
import { parse as parseYaml, stringify as toYaml } from "yaml";

export interface PrometheusHandle {
  url: string;
  /** Instant query; the result vector. */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  alerts(): Promise<Array<{ labels: Record<string, string>; state: "pending" | "firing"; activeAt: string }>>;
  stop(): Promise<void>;
}

const RULES = join(REPO_ROOT, "infra", "prometheus", "alerts.yml");
const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** infra/prometheus/alerts.yml with every `for:` divided by `by` (whole seconds, at least 1). */
export function rulesWithShorterFor(by: number): string {
  const doc = parseYaml(readFileSync(RULES, "utf8")) as { groups: { rules: { for?: string }[] }[] };
  for (const rule of doc.groups.flatMap((g) => g.rules)) {
    if (!rule.for) continue;
    const m = /^(\d+)([smh])$/.exec(rule.for);
    if (!m) throw new Error(`alerts.yml: a for: of ${rule.for} is not one number and a unit`);
    rule.for = `${Math.max(1, Math.round((Number(m[1]) * (SECONDS[m[2] as string] as number)) / by))}s`;
  }
  return toYaml(doc);
}

export async function startPrometheus(
  targets: string[],
  { intervalS = 1, forDividedBy = 1 } = {},
): Promise<PrometheusHandle> {
  const dir = mkdtempSync(join(tmpdir(), "orderflow-prometheus-"));
  const port = await freePort();
  const config = join(dir, "prometheus.yml");
  const rules = forDividedBy === 1 ? RULES : join(dir, "alerts.yml");
  if (rules !== RULES) writeFileSync(rules, rulesWithShorterFor(forDividedBy));
  writeFileSync(
    config,
    JSON.stringify({
      global: {
        scrape_interval: `${intervalS}s`,
        evaluation_interval: `${intervalS}s`,
        scrape_timeout: `${intervalS}s`,
      },
      rule_files: [rules],
      scrape_configs: [{ job_name: "orderflow", static_configs: [{ targets }] }],
    }),
  );
  const binary = process.env.PROMETHEUS_BIN ?? "prometheus";
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let output = "";
  child.stderr?.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code) => reject(new Error(`prometheus exited (${code}):\n${output}`))),
  );
  exited.catch(() => {});
  await Promise.race([waitFor("prometheus to be ready", async () => (await fetch(`${url}/-/ready`)).ok), exited]);
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`${path}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    query: async (expr) =>
      (await api<{ result: [] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result as Awaited<
        ReturnType<PrometheusHandle["query"]>
      >,
    alerts: async () => (await api<{ alerts: [] }>("/api/v1/alerts")).alerts,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
