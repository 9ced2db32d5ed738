#!/usr/bin/env node
// pnpm start: run-local.ts (the whole system on this machine) as one module,
// made by esbuild in ~0.1 s, then loaded by plain Node: through tsx's loader
// its few hundred modules took ~0.4 s longer to load, on the path to "ready".
// The module lies in dist/, as deep in the repository as src/, so that the
// paths run-local finds from its own URL stay right. esbuild (which finds its
// binary from its package) and pg stay imports; the rest, the workspace's
// TypeScript included, is bundled.
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const outfile = join(here, "..", "dist", "run-local.mjs");
await build({
  entryPoints: [join(here, "..", "src", "run-local.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  conditions: ["development"],
  external: ["esbuild", "pg"],
  logLevel: "warning",
  banner: {
    js: 'import { createRequire as __startRequire } from "node:module";\nconst require = __startRequire(import.meta.url);',
  },
});
await import(pathToFileURL(outfile).href);
