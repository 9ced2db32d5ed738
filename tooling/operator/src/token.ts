/**
 * pnpm -s run token --sub c-1 [--scope orders:operator] [--ttl 3600]
 *
 * Prints a bearer token from the development issuer (which `pnpm start` and
 * compose run on 127.0.0.1:8090, + PORT_OFFSET) on stdout, and nothing else:
 *   TOKEN=$(pnpm -s run token --sub c-1)
 *   curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/v1/orders
 * ISSUER_URL points it at another development issuer. (`pnpm token` without
 * `run` is pnpm's own passthrough to `npm token`, hence `run`; `-s` keeps
 * pnpm's banner off stdout.)
 */
import { parseArgs } from "node:util";
import { devIssuerUrl, devToken } from "./dev-token.js";

const usage = "usage: pnpm -s run token --sub <customer id> [--scope <scopes>] [--ttl <seconds>]";
let values: { sub?: string; scope?: string; ttl?: string };
try {
  ({ values } = parseArgs({
    options: { sub: { type: "string" }, scope: { type: "string" }, ttl: { type: "string" } },
    strict: true,
  }));
} catch (err) {
  console.error(`${(err as Error).message}\n${usage}`);
  process.exit(2);
}
if (!values.sub) {
  console.error(`--sub is required (the customer the token names)\n${usage}`);
  process.exit(2);
}
const ttlS = values.ttl === undefined ? undefined : Number(values.ttl);
try {
  process.stdout.write(`${await devToken(devIssuerUrl(), { sub: values.sub, scope: values.scope, ttlS })}\n`);
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
