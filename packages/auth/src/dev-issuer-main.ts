/**
 * The development issuer as a process (compose's `issuer` service): keys kept
 * in DEV_ISSUER_KEYS_FILE, an OpenID configuration and a JWKS, and POST /token
 * for `pnpm token`. For development only: its token endpoint asks nothing of
 * its caller. `pnpm start` runs the same issuer inside its own process.
 */
import { createIssuer, keysFromFile, serveIssuer } from "./issuer.js";

const port = Number(process.env.DEV_ISSUER_PORT ?? 8090);
const host = process.env.DEV_ISSUER_HOST ?? "127.0.0.1";
if (process.env.NODE_ENV === "production" && process.env.DEV_ISSUER_ALLOW !== "true") {
  console.error(
    "the development issuer mints tokens for anyone who asks: refused with NODE_ENV=production (DEV_ISSUER_ALLOW=true to run it anyway, e.g. in the local compose stack)",
  );
  process.exit(2);
}
const issuer = await createIssuer({
  issuerUrl: process.env.AUTH_ISSUER ?? `http://127.0.0.1:${port}`,
  audience: process.env.AUTH_AUDIENCE ?? "orderflow-api",
  keys: await keysFromFile(process.env.DEV_ISSUER_KEYS_FILE ?? ".tmp/dev-issuer/keys.json"),
});
const server = await serveIssuer(issuer, { port, host, mint: true });
console.log(
  JSON.stringify({
    level: "info",
    msg: "development issuer started",
    issuer: issuer.issuerUrl,
    listening: server.url,
    kid: issuer.currentKey().kid,
  }),
);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void server.stop().then(() => process.exit(0)));
}
