/**
 * The token issuer of a test system: keys of its own (ES256), served from the
 * test process on a free port, so that a test can mint any token it needs,
 * rotate keys, or take the JWKS endpoint down (server.stop()).
 */
import {
  createIssuer,
  type Issuer,
  type IssuerServer,
  type MintOptions,
  serveIssuer,
  type VerifierConfig,
} from "@orderflow/auth";
import { freePort } from "./free-port.js";

export const TEST_AUDIENCE = "orderflow-api";
/** The operator scope (AUTH_OPERATOR_SCOPE's default). */
export const OPERATOR_SCOPE = "orders:operator";

export interface TestIssuer {
  issuer: Issuer;
  server: IssuerServer;
  /** What the gateway and the order service are given to trust this issuer. */
  env: Record<string, string>;
  /** The same, for a verifier built in the test process (the services' defaults otherwise). */
  verifierConfig: VerifierConfig;
  /** A token for `sub` (cached per sub and scope; valid for an hour). */
  token(sub: string, options?: Omit<MintOptions, "sub">): Promise<string>;
  /** A token of the operator scope. */
  operatorToken(): Promise<string>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const port = await freePort();
  const issuer = await createIssuer({ issuerUrl: `http://127.0.0.1:${port}`, audience: TEST_AUDIENCE });
  const server = await serveIssuer(issuer, { port });
  const cache = new Map<string, Promise<string>>();
  const token = (sub: string, options: Omit<MintOptions, "sub"> = {}) => {
    const key = `${sub}|${options.scope ?? ""}|${options.ttlS ?? ""}|${issuer.currentKey().kid}`;
    let t = cache.get(key);
    if (!t) {
      t = issuer.mint({ sub, ...options });
      cache.set(key, t);
    }
    return t;
  };
  return {
    issuer,
    server,
    env: {
      AUTH_ISSUER: issuer.issuerUrl,
      AUTH_AUDIENCE: TEST_AUDIENCE,
      AUTH_JWKS_URL: `${server.url}/.well-known/jwks.json`,
    },
    verifierConfig: {
      issuer: issuer.issuerUrl,
      audience: TEST_AUDIENCE,
      jwksUrl: `${server.url}/.well-known/jwks.json`,
      algorithms: ["ES256"],
      clockToleranceS: 30,
      jwksCooldownMs: 30_000,
      jwksMaxAgeMs: 600_000,
      jwksTimeoutMs: 2000,
      operatorScope: OPERATOR_SCOPE,
    },
    token,
    operatorToken: () => token("operator", { scope: OPERATOR_SCOPE }),
  };
}

/** Where a client of a test system gets its tokens. */
export type TokenSource = Pick<TestIssuer, "token" | "operatorToken">;

const byGateway = new Map<string, TokenSource>();

/** Remembers which issuer the gateway at `url` trusts (the harness calls it for each gateway it starts). */
export function registerGatewayIssuer(url: string, issuer: TokenSource): void {
  byGateway.set(url, issuer);
}

/**
 * The issuer the gateway at `url` trusts, for a client of a system this
 * process started: what the scenarios' HTTP helpers sign their calls with.
 */
export function issuerOfGateway(url: string): TokenSource {
  const issuer = byGateway.get(url);
  if (!issuer) throw new Error(`no system of this process runs a gateway at ${url}`);
  return issuer;
}

/** Authorization headers of `sub` (default: an operator) for the gateway at `gatewayUrl`, from the issuer it trusts. */
export async function authHeaders(gatewayUrl: string, sub?: string): Promise<Record<string, string>> {
  const issuer = issuerOfGateway(gatewayUrl);
  const token = sub === undefined ? await issuer.operatorToken() : await issuer.token(sub);
  return { authorization: `Bearer ${token}` };
}
