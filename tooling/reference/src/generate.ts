/**
 * pnpm reference [--check]: the reference tables of docs/, generated from the
 * code that defines them, between `<!-- generated: NAME -->` and
 * `<!-- end generated -->` markers:
 * - settings (docs/configuration.md): every variable every service reads, from
 *   each service's config.ts, with the services that read it, its default and
 *   its description;
 * - streams (docs/architecture.md): every stream, what it holds, who publishes
 *   to it and its durable consumers, from the catalogue and the contracts.
 * --check writes nothing and fails when a file differs from what it would write
 * (`pnpm check` runs it, as it checks the generated contracts).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FAULT_SWITCHES, type SettingsShape } from "@orderflow/config";
import { consoleSettings } from "@orderflow/console/config";
import { EVENTS, STREAMS } from "@orderflow/contracts";
import { gatewaySettings } from "@orderflow/gateway/config";
import { inventorySettings } from "@orderflow/inventory/config";
import { notificationSettings } from "@orderflow/notification/config";
import { orderSettings } from "@orderflow/order/config";
import { paymentSettings } from "@orderflow/payment/config";
import { CONSOLE, type ServiceEntry, SYSTEM } from "@orderflow/system";

const ROOT = new URL("../../../", import.meta.url).pathname;
const SERVICES: [string, SettingsShape][] = [
  ["gateway", gatewaySettings],
  ["order", orderSettings],
  ["inventory", inventorySettings],
  ["payment", paymentSettings],
  ["notification", notificationSettings],
  [CONSOLE.name, consoleSettings],
];

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
function shown(value: unknown): string {
  if (value === undefined) return "required";
  if (Array.isArray(value)) return `\`${value.join(",")}\``;
  if (typeof value === "object" && value !== null) return "(derived from the catalogue)";
  if (value === "") return "(empty)";
  return `\`${String(value)}\``;
}

function settingsTable(): string {
  const rows = new Map<string, { services: string[]; default: string; description: string }>();
  for (const [service, shape] of SERVICES) {
    for (const s of Object.values(shape)) {
      const row = rows.get(s.env) ?? { services: [], default: shown(s.default), description: s.description };
      row.services.push(service);
      rows.set(s.env, row);
    }
  }
  const all = SERVICES.length;
  const lines = ["| variable | read by | default | what it does |", "| --- | --- | --- | --- |"];
  for (const [env, r] of [...rows.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const who = r.services.length === all ? "every service" : r.services.join(", ");
    lines.push(`| \`${env}\` | ${who} | ${cell(r.default)} | ${cell(r.description)} |`);
  }
  return lines.join("\n");
}

function streamsTable(): string {
  const lines = ["| stream | subjects | published by | durable consumers |", "| --- | --- | --- | --- |"];
  for (const [name, subjects] of Object.entries(STREAMS)) {
    const domain = subjects.replace(".>", "");
    const publisher =
      name === "DEAD_LETTERS"
        ? "every consumer (its dead letters)"
        : SYSTEM.filter((s) => "publishes" in s && s.publishes === domain)
            .map((s) => s.name)
            .join(", ");
    const consumers = SYSTEM.flatMap((s) =>
      s.consumes.filter((c) => c.subject.startsWith(`${domain}.`)).map((c) => `\`${c.durable}\` (${c.subject})`),
    );
    lines.push(
      `| \`${name}\` | \`${subjects}\` | ${publisher || "-"} | ${consumers.join(", ") || "- (read by `pnpm dlq` and the console)"} |`,
    );
  }
  return lines.join("\n");
}

function faultSwitchTable(): string {
  const lines = ["| variable | service | kind | what it does | used by |", "| --- | --- | --- | --- | --- |"];
  for (const [name, sw] of Object.entries(FAULT_SWITCHES)) {
    const usedBy = [sw.scenario, ...(("alsoUsedBy" in sw && sw.alsoUsedBy) || [])].join(", ");
    lines.push(`| \`${name}\` | ${sw.service} | ${sw.kind} | ${cell(sw.description)} | ${usedBy} |`);
  }
  return lines.join("\n");
}

const code = (xs: readonly string[]) => xs.map((x) => `\`${x}\``).join(", ");
function servicesTable(): string {
  const lines = ["| service | owns | consumes | publishes | ports |", "| --- | --- | --- | --- | --- |"];
  for (const s of SYSTEM) {
    const entry: ServiceEntry = s;
    const consumes = [
      entry.consumes.length ? code(entry.consumes.map((c) => c.subject)) : "",
      entry.answers ? `answers ${code(entry.answers)}` : "",
    ].filter(Boolean);
    const events = entry.publishes
      ? Object.values(EVENTS)
          .map((e) => e.subject)
          .filter((subject) => subject.startsWith(`${entry.publishes}.`))
      : [];
    const publishes = events.length ? code(events) : entry.asks ? `- (asks ${code(entry.asks)})` : "-";
    const ports =
      entry.role === "edge"
        ? `${entry.httpPort} (API, \`/healthz\`, \`/readyz\`, \`/metrics\`)`
        : `${entry.grpcPort ? `${entry.grpcPort} gRPC, ` : ""}${entry.httpPort} ops`;
    lines.push(`| ${entry.name} | ${cell(entry.owns)} | ${consumes.join("; ") || "-"} | ${publishes} | ${ports} |`);
  }
  lines.push(
    `| ${CONSOLE.name} | ${cell(CONSOLE.owns)} | - | - | ${CONSOLE.httpPort} (pages, \`/v1/traces\`), 127.0.0.1 only |`,
  );
  return lines.join("\n");
}

const TARGETS: { file: string; name: string; render: () => string }[] = [
  { file: "docs/configuration.md", name: "settings", render: settingsTable },
  { file: "docs/configuration.md", name: "fault switches", render: faultSwitchTable },
  { file: "docs/architecture.md", name: "services", render: servicesTable },
  { file: "docs/architecture.md", name: "streams", render: streamsTable },
];

const check = process.argv.includes("--check");
const drift: string[] = [];
for (const t of TARGETS) {
  const path = join(ROOT, t.file);
  const text = readFileSync(path, "utf8");
  const open = `<!-- generated: ${t.name} (pnpm reference) -->`;
  const close = "<!-- end generated -->";
  const start = text.indexOf(open);
  const end = text.indexOf(close, start);
  if (start < 0 || end < 0) {
    console.error(`${t.file}: no "${open}" ... "${close}" block`);
    process.exit(1);
  }
  const next = `${text.slice(0, start + open.length)}\n${t.render()}\n${text.slice(end)}`;
  if (next === text) continue;
  if (check) drift.push(`${t.file} (${t.name})`);
  else writeFileSync(path, next);
}
if (drift.length) {
  console.error(`generated tables out of date: ${drift.join(", ")}; run pnpm reference`);
  process.exit(1);
}
console.log(check ? "generated tables are up to date" : "generated tables written");
