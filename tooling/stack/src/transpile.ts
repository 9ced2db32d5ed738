/**
 * The services as the image runs them (plain JavaScript in each package's
 * dist/, loaded without a TypeScript loader), made from the current sources in
 * about a second: every .ts file of every package the services import,
 * transpiled one file at a time by esbuild into dist/ with the layout `pnpm
 * build` (tsc) gives it, then each service's start file, dist/main.bundle.js
 * (bundle.ts), as `pnpm build` makes it. No type checking (`pnpm check` does that).
 *
 * Why: a service started from its sources spends most of its start loading
 * modules through tsx's loader (on 2 cores, five services from sources took
 * ~4.5 s of CPU each, from dist/ ~2.9 s); a full `pnpm build` costs minutes.
 * The sources are written for this (isolatedModules, verbatimModuleSyntax:
 * each file transpiles on its own).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { build } from "esbuild";
import { bundleServices } from "./bundle.js";
import { REPO_ROOT } from "./start-service.js";

/** Every workspace package with sources a service loads at run time. */
function packageDirs(root: string): string[] {
  const dirs = [join(root, "proto")];
  for (const group of ["packages", "services"]) {
    for (const name of readdirSync(join(root, group))) dirs.push(join(root, group, name));
  }
  return dirs.filter((d) => existsSync(join(d, "src")));
}

function sources(dir: string): string[] {
  return readdirSync(join(dir, "src"), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") && !e.name.endsWith(".test.ts"))
    .map((e) => join(e.parentPath, e.name));
}

/**
 * Writes `contents` to `path` unless it holds them already, through a rename:
 * two test processes may transpile at once (unit files run two at a time)
 * while a service of one loads its modules, and a reader must never see half
 * a file.
 */
export function writeIfChanged(path: string, contents: Uint8Array): boolean {
  if (existsSync(path) && Buffer.from(contents).equals(readFileSync(path))) return false;
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
  return true;
}

/**
 * Transpiles every package's src/ into its dist/, then bundles each service's
 * start file (bundle.ts); returns how many files it (re)wrote.
 */
export async function transpileWorkspace(root: string = REPO_ROOT): Promise<number> {
  let written = 0;
  await Promise.all(
    packageDirs(root).map(async (dir) => {
      const entryPoints = sources(dir);
      const result = await build({
        entryPoints,
        outdir: join(dir, "dist"),
        outbase: join(dir, "src"),
        bundle: false,
        format: "esm",
        platform: "node",
        target: "node20",
        logLevel: "silent",
        write: false,
      }).catch((err: Error) => {
        throw new Error(`transpiling ${relative(root, dir)}: ${err.message}`);
      });
      for (const file of result.outputFiles) if (writeIfChanged(file.path, file.contents)) written++;
    }),
  );
  for (const [path, contents] of await bundleServices(root)) if (writeIfChanged(path, contents)) written++;
  return written;
}

let once: Promise<number> | undefined;
/** transpileWorkspace, once per process (every system a test file starts runs the same sources). */
export function ensureTranspiled(): Promise<number> {
  once ??= transpileWorkspace();
  return once;
}
