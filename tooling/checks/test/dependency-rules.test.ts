/**
 * The layering rules (.dependency-cruiser.cjs), which `pnpm check` runs over
 * the repository, shown able to fail: a small tree with one violation of each
 * rule is cruised with the same rules, and each is reported.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "@orderflow/stack";

const CONFIG = join(REPO_ROOT, ".dependency-cruiser.cjs");
const depcruise = join(REPO_ROOT, "node_modules", ".bin", "depcruise");

function tree(files: Record<string, string | { symlink: string }>): string {
  const dir = mkdtempSync(join(tmpdir(), "depcruise-"));
  copyFileSync(join(REPO_ROOT, "tsconfig.base.json"), join(dir, "tsconfig.base.json"));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    if (typeof content === "string") writeFileSync(join(dir, path), content);
    else symlinkSync(content.symlink, join(dir, path));
  }
  return dir;
}

describe("layering rules (dependency-cruiser)", () => {
  it("when the repository is cruised, then no rule is broken", () => {
    const run = spawnSync(
      depcruise,
      ["--config", CONFIG, "services", "packages", "proto/src", "scripts", "e2e", "tooling"],
      {
        cwd: REPO_ROOT,
        encoding: "utf8",
      },
    );
    assert.equal(run.status, 0, run.stdout + run.stderr);
  });

  it("when a tree breaks each rule once, then each rule reports it", () => {
    const dir = tree({
      "services/a/src/index.ts": 'import { b } from "../../b/src/index.js";\nexport const a = b;\n',
      "services/b/src/index.ts": 'import { lab } from "../../../scripts/lab.js";\nexport const b = lab;\n',
      "packages/p/src/index.ts":
        'import { a } from "../../../services/a/src/index.js";\nimport { lab } from "../../../e2e/lab.js";\nexport const p = [a, lab];\n',
      "proto/src/index.ts": 'import { p } from "../../packages/p/src/index.js";\nexport const c = p;\n',
      "packages/q/src/one.ts": 'import { two } from "./two.js";\nexport const one = () => two;\n',
      "packages/q/src/two.ts": 'import { one } from "./one.js";\nexport const two = () => one;\n',
      "scripts/lab.ts": 'import { c } from "../proto/src/index.js";\nexport const lab = c;\n',
      "e2e/lab.ts": "export const lab = 2;\n",
      "tooling/stack/src/index.ts": 'import { bench } from "@orderflow/lab";\nexport const stack = bench;\n',
      "tooling/lab/src/index.ts": "export const bench = 1;\n",
      "tooling/lab/package.json": '{ "name": "@orderflow/lab", "exports": { ".": "./src/index.ts" } }\n',
      "node_modules/@orderflow/lab": { symlink: "../../tooling/lab" },
      "tooling/operator/src/index.ts": 'import { stack } from "../../stack/src/index.js";\nexport const op = stack;\n',
    });
    try {
      const run = spawnSync(
        depcruise,
        ["--config", CONFIG, "services", "packages", "proto/src", "scripts", "e2e", "tooling"],
        {
          cwd: dir,
          encoding: "utf8",
        },
      );
      assert.notEqual(run.status, 0, "the cruise fails");
      const broken = new Set([...run.stdout.matchAll(/error ([a-z-]+):/g)].map((m) => m[1]));
      assert.deepEqual([...broken].sort(), [
        "by-package-name",
        "contracts-import-nothing-of-ours",
        "no-circular",
        "no-service-to-service",
        "operator-apart-from-the-lab",
        "packages-below-services",
        "packages-below-the-lab",
        "services-below-the-lab",
        "stack-below-the-lab",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
