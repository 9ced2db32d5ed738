/**
 * Each service's compiled dist/ as one start file, dist/main.bundle.js: its
 * own modules, the workspace packages it imports, and the pure-JavaScript
 * libraries that are many small ES modules (drizzle-orm, nats.js, protobuf-es,
 * prom-client, jose, uuid: BUNDLED) in one module; the IMPORTED packages stay
 * imports, and a library in neither list fails the bundling by name. The
 * image and every harness run this file; all six are made in one esbuild build
 * (~0.7 s; the modules they share are parsed once).
 *
 * Why: with OpenTelemetry's loader hook registered, every ES module a process
 * imports costs a round trip to the hook's thread; a service loading ~600 of
 * them spent ~2.4 CPU-seconds before it did anything, ~1.2 from this file (on
 * this 2-core machine, five services start at once in every scenario and in
 * `pnpm start`).
 *
 * What stays an import, and why: the packages OpenTelemetry instruments (pg,
 * @grpc/*, fastify and its plugins, pino, http) must load as themselves for
 * the hook to patch them; OpenTelemetry's API must be one instance in the
 * process; and anything that reads files beside its own code (grpc-health-check's
 * .proto) must keep its own path. Workspace modules that
 * locate files from `import.meta.url` (migration folders) get their own
 * module's URL, relative to the bundle, so the layout may move.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { join, relative } from "node:path";
import { build, type Plugin } from "esbuild";

/**
 * Imports wherever they appear, a bundled package's own included (drizzle-orm imports pg and
 * OpenTelemetry's API): instrumented, one instance per process, or reading files beside their code.
 */
const IMPORTED = [
  "pg",
  "pg-*",
  "@opentelemetry/*",
  "@grpc/*",
  "grpc-health-check",
  "fastify",
  "@fastify/*",
  "pino",
  "pino-*",
];
/**
 * The libraries the bundles may hold: ES modules in many files, no files read beside their code
 * (with their own dependencies). A library outside both lists fails the bundling by name: decide
 * where it belongs.
 */
const BUNDLED = new Set([
  "drizzle-orm",
  "@bufbuild/protobuf",
  "prom-client",
  "bintrees",
  "tdigest",
  "jose",
  "uuid",
  "@nats-io/jetstream",
  "@nats-io/nats-core",
  "@nats-io/transport-node",
  "@nats-io/nkeys",
  "@nats-io/nuid",
  "tweetnacl",
]);

function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] as string);
}

/** `import.meta.url` in a workspace module: that module's own URL, written relative to the bundle. */
function ownUrls(root: string, bundleDir: string): Plugin {
  const escaped = root.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // The workspace's packages: packages/<name>, services/<name> and proto (the contracts).
  const workspaceModules = new RegExp(`^${escaped}/(?:(?:packages|services)/[^/]+|proto)/dist/.*\\.js$`);
  return {
    name: "own-import-meta-url",
    setup(b) {
      b.onLoad({ filter: workspaceModules }, (args) => {
        const source = readFileSync(args.path, "utf8");
        if (!source.includes("import.meta.url")) return undefined;
        const own = JSON.stringify(relative(bundleDir, args.path));
        return {
          contents: source.replaceAll("import.meta.url", `new URL(${own}, import.meta.url).href`),
          loader: "js",
        };
      });
    },
  };
}

/** What every start file is: one ES module for Node 20, returned rather than written. */
const startFile = (root: string) =>
  ({
    absWorkingDir: root, // the metafile's paths are relative to it
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "silent",
    write: false,
    // CommonJS inside a bundle (prom-client, OpenTelemetry) requires Node's built-ins.
    banner: {
      js: 'import { createRequire as __orderflowRequire } from "node:module";\nconst require = __orderflowRequire(import.meta.url);',
    },
  }) as const;

/**
 * Bundles services/<name>/dist/main.js into dist/main.bundle.js for every
 * service with a dist/main.js, in one esbuild build (the modules the services
 * share are read and parsed once), and OpenTelemetry's start file beside it
 * (bundleTelemetry); returns the bundles' contents by path (written by the caller).
 */
export async function bundleServices(root: string): Promise<Map<string, Uint8Array>> {
  const services = readdirSync(join(root, "services")).filter((s) =>
    existsSync(join(root, "services", s, "dist", "main.js")),
  );
  if (!services.length) return new Map();
  const telemetry = bundleTelemetry(root);
  const result = await build({
    entryPoints: Object.fromEntries(
      services.map((name) => [`services/${name}/dist/main.bundle`, join(root, "services", name, "dist", "main.js")]),
    ),
    outdir: root,
    ...startFile(root),
    metafile: true,
    external: IMPORTED,
    // Every bundle lies in services/<name>/dist/: one relative path from there serves them all.
    plugins: [ownUrls(root, join(root, "services", "any", "dist"))],
  }).catch((err: Error) => {
    throw new Error(`bundling the services: ${err.message}`);
  });
  const libraries = new Set(
    Object.keys(result.metafile.inputs)
      .filter((path) => path.includes("node_modules/"))
      .map((path) => packageName(path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length))),
  );
  const unknown = [...libraries].filter((l) => !BUNDLED.has(l));
  if (unknown.length)
    throw new Error(
      `bundling the services: ${unknown.join(", ")} would be bundled, and bundle.ts lists it neither as BUNDLED nor as IMPORTED`,
    );
  // What stays an import is loaded from the service's folder: the service must depend on it.
  for (const [output, { imports }] of Object.entries(result.metafile.outputs)) {
    const name = output.split("/")[1] as string;
    const missing = [
      ...new Set(imports.filter((i) => i.external && !i.path.startsWith("node:")).map((i) => packageName(i.path))),
    ].filter((p) => !isBuiltin(p) && !existsSync(join(root, "services", name, "node_modules", p, "package.json")));
    if (missing.length)
      throw new Error(
        `bundling services/${name}: its start file imports ${missing.join(", ")}, which services/${name}/package.json does not list (add them to its dependencies)`,
      );
  }
  const out = new Map(result.outputFiles.map((f) => [f.path, f.contents]));
  for (const f of await telemetry) out.set(f.path, f.contents);
  return out;
}

/**
 * OpenTelemetry's start file too, packages/telemetry/dist/register.bundle.js
 * (what `--import @orderflow/telemetry/register` loads): the SDK, the
 * instrumentations and the exporters in one module, ~0.4 CPU-seconds to load
 * instead of ~0.6. Its API stays an import (one instance in the process, shared
 * with the service's code), and so does import-in-the-middle, whose loader hook
 * is registered by file.
 */
async function bundleTelemetry(root: string) {
  const entry = join(root, "packages", "telemetry", "dist", "register.js");
  if (!existsSync(entry)) return [];
  const result = await build({
    entryPoints: [entry],
    outfile: join(root, "packages", "telemetry", "dist", "register.bundle.js"),
    ...startFile(root),
    external: ["@opentelemetry/api", "import-in-the-middle"],
  }).catch((err: Error) => {
    throw new Error(`bundling packages/telemetry: ${err.message}`);
  });
  return result.outputFiles;
}
