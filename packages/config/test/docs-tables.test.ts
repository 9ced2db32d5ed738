import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { authSettings, messagingSettings, serviceSettings } from "../src/index.js";

/**
 * The configuration page (docs/configuration.md) names every shared setting.
 * Its tables of settings and fault switches are generated (`pnpm reference`,
 * whose --check in `pnpm check` fails on drift).
 */
const README = readFileSync(new URL("../../../docs/configuration.md", import.meta.url), "utf8");
const section = (heading: string) => {
  const start = README.indexOf(heading);
  assert.ok(start >= 0, `docs/configuration.md has "${heading}"`);
  const end = README.indexOf("\n## ", start + heading.length);
  return README.slice(start, end < 0 ? undefined : end);
};

describe("configuration page tables (docs/configuration.md)", () => {
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
