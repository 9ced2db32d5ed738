/**
 * Each service's compiled dist/ as one start file, dist/main.bundle.js: its
 * own modules, the workspace packages it imports, and the pure-JavaScript
 * libraries that are many small ES modules (drizzle-orm, nats.js, protobuf-es,
 * prom-client, jose, uuid) in one module; every other package stays an import.
 * The image and every harness run this file.
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
 * .proto, uplot's assets) must keep its own path. Workspace modules that
 * locate files from `import.meta.url` (migration folders) get their own
 * module's URL, relative to the bundle, so the layout may move.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { join, relative } from "node:path";
import { build, type Plugin } from "esbuild";

/** Packages bundled into the start file: ES modules in many files, no files read beside their code. */
const BUNDLED = [
  /^@orderflow\//,
  /^drizzle-orm$/,
  /^@nats-io\//,
  /^@bufbuild\/protobuf$/,
  /^prom-client$/,
  /^jose$/,
  /^uuid$/,
];
/**
 * Imports wherever they appear, a bundled package's own included (drizzle-orm imports pg and
 * OpenTelemetry's API): instrumented, one instance per process, or reading files beside their code.
 */
const IMPORTED = [
  /^pg(-|$)/,
  /^@opentelemetry\//,
  /^@grpc\//,
  /^grpc-health-check$/,
  /^fastify$/,
  /^@fastify\//,
  /^pino(-|$)/,
];

function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] as string);
}

/** Which bare imports stay imports: IMPORTED always; the rest unless BUNDLED or a bundled package's dependency. */
const externals: Plugin = {
  name: "externals",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      const name = packageName(args.path);
      if (args.path.startsWith("node:") || IMPORTED.some((re) => re.test(name))) return { external: true };
      if (args.importer.includes("/node_modules/") || BUNDLED.some((re) => re.test(name))) return undefined;
      return { external: true };
    });
  },
};

/** `import.meta.url` in a workspace module: that module's own URL, written relative to the bundle. */
function ownUrls(bundleDir: string): Plugin {
  return {
    name: "own-import-meta-url",
    setup(b) {
      b.onLoad({ filter: /\.js$/ }, (args) => {
        if (args.path.includes("/node_modules/")) return undefined;
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

/**
 * Bundles services/<name>/dist/main.js into dist/main.bundle.js for every
 * service with a dist/main.js; returns the bundles' contents by path (written by the caller).
 */
export async function bundleServices(root: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const services = readdirSync(join(root, "services")).filter((s) =>
    existsSync(join(root, "services", s, "dist", "main.js")),
  );
  await Promise.all(
    services.map(async (name) => {
      const dir = join(root, "services", name, "dist");
      const result = await build({
        entryPoints: [join(dir, "main.js")],
        outfile: join(dir, "main.bundle.js"),
        bundle: true,
        format: "esm",
        platform: "node",
        target: "node20",
        logLevel: "silent",
        write: false,
        metafile: true,
        plugins: [externals, ownUrls(dir)],
        // CommonJS inside the bundle (prom-client) requires Node's built-ins.
        banner: {
          js: 'import { createRequire as __orderflowRequire } from "node:module";\nconst require = __orderflowRequire(import.meta.url);',
        },
      }).catch((err: Error) => {
        throw new Error(`bundling services/${name}: ${err.message}`);
      });
      // What stays an import is loaded from the service's folder: the service must depend on it.
      const imported = Object.values(result.metafile.outputs).flatMap((o) =>
        o.imports.filter((i) => i.external && !i.path.startsWith("node:")).map((i) => packageName(i.path)),
      );
      const missing = [...new Set(imported)].filter(
        (p) => !isBuiltin(p) && !existsSync(join(root, "services", name, "node_modules", p, "package.json")),
      );
      if (missing.length)
        throw new Error(
          `bundling services/${name}: its start file imports ${missing.join(", ")}, which services/${name}/package.json does not list (add them to its dependencies)`,
        );
      for (const file of result.outputFiles) out.set(file.path, file.contents);
    }),
  );
  return out;
}
