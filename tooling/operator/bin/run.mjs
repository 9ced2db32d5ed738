// The operator commands' one launcher: runs src/<command>.ts from the sources
// (the workspace packages' "development" export, TypeScript through tsx) in a
// child process, with the caller's arguments, environment and terminal, and
// exits with its code.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export function run(command) {
  const entry = fileURLToPath(new URL(`../src/${command}.ts`, import.meta.url));
  const result = spawnSync(
    process.execPath,
    ["--conditions=development", "--import", import.meta.resolve("tsx"), entry, ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  if (result.error) {
    console.error(`${command}: ${result.error.message}`);
    process.exit(1);
  }
  process.exit(result.status ?? 1);
}
