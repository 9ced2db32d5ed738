/**
 * `pnpm build`'s last step, after every package's tsc: each service's start
 * file, dist/main.bundle.js (bundle.ts), from the compiled dist/.
 */
import { bundleServices } from "./bundle.js";
import { REPO_ROOT } from "./start-service.js";
import { writeIfChanged } from "./transpile.js";

let written = 0;
for (const [path, contents] of await bundleServices(REPO_ROOT)) if (writeIfChanged(path, contents)) written++;
console.log(`bundled the services' start files (${written} changed)`);
