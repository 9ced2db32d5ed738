import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { authSettings, FAULT_SWITCHES, messagingSettings, serviceSettings } from "../src/index.js";

/**
 * The configuration page's tables that list code (docs/configuration.md), checked against the code: a switch or a
 * setting added without its line (or a line left for one removed) fails here,
 * naming it.
 */
const README = readFileSync(new URL("../../../docs/configuration.md", import.meta.url), "utf8");
const section = (heading: string) => {
  const start = README.indexOf(heading);
  assert.ok(start >= 0, `docs/configuration.md has "${heading}"`);
  const end = README.indexOf("\n## ", start + heading.length);
  return README.slice(start, end < 0 ? undefined : end);
};

describe("configuration page tables (docs/configuration.md)", () => {
  it("when the fault-switch table is read, then it lists exactly the switches of fault-switches.ts, each with its service and scenario", () => {
    const table = section("## Fault switches and unsafe toggles");
    const rows = [...table.matchAll(/^\| `([A-Z_]+)` \| (\w+) \| [^|]+ \| ([^|]+) \|$/gm)].map((m) => ({
      name: m[1] as string,
      service: m[2] as string,
      scenarios: m[3] as string,
    }));
    assert.deepEqual(rows.map((r) => r.name).sort(), Object.keys(FAULT_SWITCHES).sort());
    for (const row of rows) {
      const sw = FAULT_SWITCHES[row.name as keyof typeof FAULT_SWITCHES];
      assert.equal(row.service, sw.service, `${row.name}: service`);
      assert.ok(row.scenarios.includes(sw.scenario), `${row.name}: scenario ${sw.scenario}`);
    }
  });

  it("when the configuration section is read, then it names every shared messaging, service and auth setting", () => {
    const config = section("## Configuration");
    const envs = [
      ...Object.values(messagingSettings),
      ...Object.values(serviceSettings(0)),
      ...Object.values(authSettings),
    ].map((s) => s.env);
    for (const env of envs) assert.ok(config.includes(`\`${env}\``), `docs/configuration.md names ${env}`);
  });
});
