// Fails when `buf generate` would change the committed code in src/gen.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const saved = mkdtempSync(join(tmpdir(), "gen-check-"));
cpSync("src/gen", saved, { recursive: true });
try {
  execFileSync("buf", ["generate"], { stdio: "inherit" });
  execFileSync("git", ["diff", "--no-index", "--stat", "--exit-code", saved, "src/gen"], { stdio: "inherit" });
  console.log("generated code is up to date");
} catch {
  cpSync(saved, "src/gen", { recursive: true });
  console.error("src/gen differs from `buf generate`: run `pnpm generate` and commit the result");
  process.exitCode = 1;
} finally {
  rmSync(saved, { recursive: true, force: true });
}
