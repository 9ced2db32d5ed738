/**
 * A small token issuer, for development and tests only: ES256 keys with a
 * `kid`, an OpenID configuration and a JWKS over HTTP, and tokens minted on
 * request. `pnpm start` and compose run one (dev-issuer-main.ts); the test
 * harness runs one in the test process with keys of its own. Anywhere real,
 * the services point at a real issuer instead (AUTH_ISSUER, AUTH_JWKS_URL).
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { dirname } from "node:path";
import { exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload, SignJWT } from "jose";

export const DEV_ALGORITHM = "ES256";

export interface SigningKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

export async function generateSigningKey(kid: string = randomUUID().slice(0, 8)): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(DEV_ALGORITHM, { extractable: true });
  const meta = { kid, alg: DEV_ALGORITHM, use: "sig" };
  return {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), ...meta },
    publicJwk: { ...(await exportJWK(publicKey)), ...meta },
  };
}

export interface MintOptions {
  sub?: string;
  /** Space-separated scopes (the `scope` claim). */
  scope?: string;
  /** Lifetime in seconds (default 3600). */
  ttlS?: number;
}

export interface Issuer {
  readonly issuerUrl: string;
  readonly audience: string;
  /** The key that signs new tokens (the last one added). */
  currentKey(): SigningKey;
  /** The published set: every key's public half. */
  jwks(): { keys: JWK[] };
  /** A token for `sub`, signed with the current key. */
  mint(options: MintOptions): Promise<string>;
  /** Signs any payload and header with the current key (tests craft bad tokens with it). */
  sign(payload: JWTPayload, header?: { kid?: string; alg?: string }): Promise<string>;
  /** Adds a new key, which signs from now on; returns it. */
  addKey(): Promise<SigningKey>;
  /** Stops publishing a key: tokens it signed no longer verify once verifiers refetch. */
  removeKey(kid: string): void;
}

export async function createIssuer(options: {
  issuerUrl: string;
  audience: string;
  keys?: SigningKey[];
}): Promise<Issuer> {
  const keys = options.keys?.length ? [...options.keys] : [await generateSigningKey()];
  const current = () => keys[keys.length - 1] as SigningKey;
  const issuer: Issuer = {
    issuerUrl: options.issuerUrl,
    audience: options.audience,
    currentKey: current,
    jwks: () => ({ keys: keys.map((k) => k.publicJwk) }),
    async sign(payload, header = {}) {
      const key = current();
      return new SignJWT(payload)
        .setProtectedHeader({ alg: header.alg ?? DEV_ALGORITHM, kid: header.kid ?? key.kid, typ: "JWT" })
        .sign(await importJWK(key.privateJwk, DEV_ALGORITHM));
    },
    mint({ sub, scope, ttlS = 3600 }) {
      const now = Math.floor(Date.now() / 1000);
      return issuer.sign({
        iss: options.issuerUrl,
        aud: options.audience,
        sub,
        iat: now,
        exp: now + ttlS,
        jti: randomUUID(),
        ...(scope ? { scope } : {}),
      });
    },
    async addKey() {
      const key = await generateSigningKey();
      keys.push(key);
      return key;
    },
    removeKey(kid) {
      const i = keys.findIndex((k) => k.kid === kid);
      if (i >= 0) keys.splice(i, 1);
    },
  };
  return issuer;
}

/** The keys kept in a file, so that tokens minted before a restart still verify after it. */
export async function keysFromFile(file: string): Promise<SigningKey[]> {
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as SigningKey[];
  const keys = [await generateSigningKey()];
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(keys), { mode: 0o600 });
  return keys;
}

export interface IssuerServer {
  url: string;
  port: number;
  /** Stops answering (the JWKS endpoint is down); `start()` answers again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

/**
 * Serves the issuer: GET /.well-known/openid-configuration, GET
 * /.well-known/jwks.json and, when `mint` is on, POST /token with
 * {"sub": "...", "scope": "...", "ttlS": 3600}: a development token endpoint
 * with no client authentication at all, so it must only listen where only the
 * developer reaches it (127.0.0.1 by default).
 */
export async function serveIssuer(
  issuer: Issuer,
  options: { port: number; host?: string; mint?: boolean },
): Promise<IssuerServer> {
  const host = options.host ?? "127.0.0.1";
  const json = (res: import("node:http").ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(body));
  };
  let server: Server | undefined;
  let port = options.port;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((req, res) => {
        const path = (req.url ?? "/").split("?")[0];
        if (req.method === "GET" && path === "/.well-known/openid-configuration") {
          return json(res, 200, {
            issuer: issuer.issuerUrl,
            jwks_uri: `${issuer.issuerUrl}/.well-known/jwks.json`,
            ...(options.mint ? { token_endpoint: `${issuer.issuerUrl}/token` } : {}),
            id_token_signing_alg_values_supported: [DEV_ALGORITHM],
            scopes_supported: ["orders:operator"],
          });
        }
        if (req.method === "GET" && path === "/.well-known/jwks.json") return json(res, 200, issuer.jwks());
        if (req.method === "POST" && path === "/token" && options.mint) {
          let body = "";
          req.setEncoding("utf8");
          req.on("data", (c: string) => {
            body += c;
            if (body.length > 4096) req.destroy();
          });
          req.on("end", () => {
            let input: MintOptions;
            try {
              input = JSON.parse(body || "{}") as MintOptions;
            } catch {
              return json(res, 400, { error: "invalid_request", error_description: "the body is not JSON" });
            }
            const problem = mintProblem(input);
            if (problem) return json(res, 400, { error: "invalid_request", error_description: problem });
            issuer.mint(input).then(
              (token) => json(res, 200, { access_token: token, token_type: "Bearer", expires_in: input.ttlS ?? 3600 }),
              (err: Error) => json(res, 500, { error: "server_error", error_description: err.message }),
            );
          });
          return;
        }
        json(res, 404, { error: "not_found" });
      });
      s.once("error", reject);
      s.listen(port, host, () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  await listen();
  return {
    get url() {
      return `http://${host}:${port}`;
    },
    get port() {
      return port;
    },
    start: listen,
    stop: () =>
      new Promise<void>((resolve) => {
        const s = server;
        server = undefined;
        if (!s) return resolve();
        s.close(() => resolve());
        s.closeAllConnections();
      }),
  };
}

function mintProblem(input: MintOptions): string | undefined {
  if (typeof input.sub !== "string" || !/^[A-Za-z0-9._:@-]{1,64}$/.test(input.sub)) {
    return "sub: 1 to 64 characters of A-Z a-z 0-9 . _ : @ -";
  }
  if (input.scope !== undefined && (typeof input.scope !== "string" || input.scope.length > 256)) {
    return "scope: a space-separated string";
  }
  if (input.ttlS !== undefined && (!Number.isInteger(input.ttlS) || input.ttlS < 1 || input.ttlS > 86_400)) {
    return "ttlS: whole seconds from 1 to 86400";
  }
  return undefined;
}
