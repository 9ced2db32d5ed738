/**
 * transpileWorkspace on a small workspace of its own: each package's src/ becomes
 * runnable JavaScript in its dist/; a second run, or two at once, rewrites
 * nothing that is already right.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { transpileWorkspace } from "../src/transpile.js";

describe("transpileWorkspace", () => {
  it("when a workspace is transpiled, then dist/ runs, and transpiling again (twice at once) writes nothing", async () => {
    const root = mkdtempSync(join(tmpdir(), "transpile-"));
    try {
      for (const dir of ["proto/src", "packages/p/src/deep", "services/s/src"])
        mkdirSync(join(root, dir), { recursive: true });
      writeFileSync(join(root, "proto/src/index.ts"), "export const c: number = 1;\n");
      writeFileSync(join(root, "packages/p/src/deep/value.ts"), "export const value = (n: number): number => n * 2;\n");
      writeFileSync(join(root, "packages/p/src/value.test.ts"), "throw new Error('tests are not transpiled');\n");
      writeFileSync(
        join(root, "services/s/src/main.ts"),
        'import { value } from "../../../packages/p/dist/deep/value.js";\nconsole.log(value(21));\n',
      );
      assert.equal(await transpileWorkspace(root), 3);
      assert.equal(
        execFileSync(process.execPath, [join(root, "services/s/dist/main.js")], { encoding: "utf8" }),
        "42\n",
      );
      assert.deepEqual(await Promise.all([transpileWorkspace(root), transpileWorkspace(root)]), [0, 0]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
