/**
 * transpileWorkspace on a small workspace of its own: each package's src/ becomes
 * runnable JavaScript in its dist/, and each service's dist/main.bundle.js runs
 * as its dist/main.js does (a file found from import.meta.url is still found;
 * an instrumented package stays an import, and one the service does not list
 * is refused by name); a second run, or two at once, rewrites nothing that is
 * already right.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { transpileWorkspace } from "../src/transpile.js";

describe("transpileWorkspace", () => {
  it("when a workspace is transpiled, then dist/ and each service's bundle run alike, transpiling again (twice at once) writes nothing, and a bundle importing an unlisted package is refused", async () => {
    const root = mkdtempSync(join(tmpdir(), "transpile-"));
    try {
      for (const dir of ["proto/src", "packages/p/src/deep", "services/s/src", "services/s/node_modules/pg"])
        mkdirSync(join(root, dir), { recursive: true });
      // The contracts package (proto/, not under packages/) finds its .proto files the same way.
      writeFileSync(join(root, "proto/c.proto"), "syntax");
      writeFileSync(
        join(root, "proto/src/index.ts"),
        'import { readFileSync } from "node:fs";\nexport const c: string = readFileSync(new URL("../c.proto", import.meta.url), "utf8");\n',
      );
      writeFileSync(join(root, "packages/p/src/deep/value.ts"), "export const value = (n: number): number => n * 2;\n");
      writeFileSync(join(root, "packages/p/src/value.test.ts"), "throw new Error('tests are not transpiled');\n");
      // A module that finds a file beside its package from its own URL, as the migration folders are found.
      writeFileSync(join(root, "packages/p/beside.txt"), "beside");
      writeFileSync(
        join(root, "packages/p/src/beside.ts"),
        'import { readFileSync } from "node:fs";\nexport const beside = readFileSync(new URL("../beside.txt", import.meta.url), "utf8");\n',
      );
      // An instrumented package (pg) the service lists: it must stay an import.
      writeFileSync(join(root, "services/s/node_modules/pg/package.json"), '{"name":"pg","main":"index.js"}');
      writeFileSync(join(root, "services/s/node_modules/pg/index.js"), 'module.exports = { from: "pg itself" };\n');
      writeFileSync(
        join(root, "services/s/src/main.ts"),
        [
          'import pg from "pg";',
          'import { c } from "../../../proto/dist/index.js";',
          'import { beside } from "../../../packages/p/dist/beside.js";',
          'import { value } from "../../../packages/p/dist/deep/value.js";',
          "console.log(value(21), beside, c, pg.from);",
          "",
        ].join("\n"),
      );
      assert.equal(await transpileWorkspace(root), 5, "four modules and one bundle");
      for (const start of ["main.js", "main.bundle.js"]) {
        assert.equal(
          execFileSync(process.execPath, [join(root, "services/s/dist", start)], { encoding: "utf8" }),
          "42 beside syntax pg itself\n",
          start,
        );
      }
      assert.match(readFileSync(join(root, "services/s/dist/main.bundle.js"), "utf8"), /from "pg"/);
      assert.deepEqual(await Promise.all([transpileWorkspace(root), transpileWorkspace(root)]), [0, 0]);

      // A library the bundling lists neither as bundled nor as imported.
      mkdirSync(join(root, "services/s/node_modules/leftpad"), { recursive: true });
      writeFileSync(join(root, "services/s/node_modules/leftpad/package.json"), '{"name":"leftpad","main":"index.js"}');
      writeFileSync(join(root, "services/s/node_modules/leftpad/index.js"), "module.exports = (s) => s;\n");
      writeFileSync(
        join(root, "services/s/src/extra.ts"),
        'import pad from "leftpad";\nexport const padded = pad("x");\n',
      );
      writeFileSync(
        join(root, "services/s/src/main.ts"),
        `import { padded } from "./extra.js";\n${readFileSync(join(root, "services/s/src/main.ts"), "utf8")}console.log(padded);\n`,
      );
      await assert.rejects(transpileWorkspace(root), /leftpad would be bundled, and bundle.ts lists it neither/);
      rmSync(join(root, "services/s/src/extra.ts"));
      writeFileSync(
        join(root, "services/s/src/main.ts"),
        readFileSync(join(root, "services/s/src/main.ts"), "utf8")
          .replace(/^import \{ padded \}.*\n/, "")
          .replace("console.log(padded);\n", ""),
      );

      // A service whose bundle would import a package it does not list.
      mkdirSync(join(root, "services/t/src"), { recursive: true });
      writeFileSync(join(root, "services/t/src/main.ts"), 'import { pino } from "pino";\nconsole.log(typeof pino);\n');
      await assert.rejects(
        transpileWorkspace(root),
        /services\/t: its start file imports pino, which services\/t\/package.json does not list/,
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
