/**
 * Who is calling: a bearer token (a JWT signed by the issuer) verified with
 * `jose`, against the issuer's published keys (JWKS).
 *
 * What jose checks: the signature with a key of the issuer's set chosen by the
 * token's `kid` and `alg` (only the allowed algorithms: `alg: none` and an
 * HS256 token "signed" with the public key are refused), `iss`, `aud` (a
 * string, or an array that contains it), `exp` and `nbf` with a clock
 * tolerance. What this file adds: `sub` and `exp` required, a size bound, and
 * the key set kept working while the issuer is away:
 * - an unknown `kid` refetches the set (at most once per cooldown: a token
 *   with random kids cannot make this process hammer the issuer);
 * - the set is refreshed in the background once it is older than `maxAgeMs`,
 *   and a failed refresh keeps the keys already fetched (a short issuer outage
 *   does not log every caller out);
 * - a verifier that has never fetched the set cannot tell a good token from a
 *   bad one: it throws AuthUnavailableError (503 / UNAVAILABLE, retry), not
 *   a 401 that would tell the caller its token is bad.
 *
 * A verified token is remembered for `verifiedCacheMs` (60 s by default; by
 * its SHA-256, at most 10,000 of them): a caller sends the same token with
 * every request, and checking an ES256 signature is most of what knowing the
 * caller costs (~0.2 ms of CPU, twice per order). Its `exp` is checked on
 * every call, and so is its key: a token whose `kid` has left the key set
 * this verifier holds is verified again (and refused), at once.
 */
import { createHash } from "node:crypto";
import {
  createRemoteJWKSet,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  type ProtectedHeaderParameters,
} from "jose";

export interface VerifierConfig {
  /** The `iss` every token must carry. */
  issuer: string;
  /** The `aud` every token must carry (or contain). */
  audience: string;
  /** Where the issuer publishes its keys. */
  jwksUrl: string;
  /** Allowed `alg` values, e.g. ["ES256"]. */
  algorithms: string[];
  /** Slack for `exp` and `nbf`, in seconds. */
  clockToleranceS: number;
  /** An unknown `kid` refetches the key set at most once per this many ms. */
  jwksCooldownMs: number;
  /** The key set is refreshed in the background once older than this. */
  jwksMaxAgeMs: number;
  /** A fetch of the key set that takes longer fails. */
  jwksTimeoutMs: number;
  /** The scope that lets a caller read every customer's orders. */
  operatorScope: string;
  /** How long a verified token is taken without checking its signature again (its `exp` is checked every time); 0: never. Default 60 s. */
  verifiedCacheMs?: number;
}

/** Verified tokens remembered at most (the oldest forgotten first). */
const MAX_REMEMBERED = 10_000;

/** The caller a verified token names. */
export interface Caller {
  issuer: string;
  /** The token's `sub`: the customer. */
  subject: string;
  scopes: ReadonlySet<string>;
  /** Holds the operator scope: may read any customer's orders. */
  operator: boolean;
}

/** The longest token accepted; a longer one is refused before it is parsed. */
export const MAX_TOKEN_LENGTH = 4096;

/** The token is missing, malformed or not valid: 401 / UNAUTHENTICATED. Never retried. */
export class AuthError extends Error {
  override name = "AuthError";
  constructor(
    /** RFC 6750's error code; absent when no credentials were sent at all. */
    readonly code: "invalid_request" | "invalid_token" | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** The issuer's keys cannot be had: no decision is possible (503 / UNAVAILABLE, retry). */
export class AuthUnavailableError extends Error {
  override name = "AuthUnavailableError";
}

export interface Verifier {
  /** The caller of a token (the bare token, without "Bearer "). */
  verify(token: string): Promise<Caller>;
  /** Fetches the key set now (at start-up); rejects when the issuer does not answer. */
  warmUp(): Promise<void>;
}

export function createVerifier(config: VerifierConfig, onRefreshFailed: (err: Error) => void = () => {}): Verifier {
  const remote = createRemoteJWKSet(new URL(config.jwksUrl), {
    cooldownDuration: config.jwksCooldownMs,
    timeoutDuration: config.jwksTimeoutMs,
    // jose would drop the whole set once it is stale and fail while the issuer
    // is away; the refresh below keeps the last good set instead.
    cacheMaxAge: Number.POSITIVE_INFINITY,
  });
  /** The kids of the key set held now: a remembered token counts only while its key is one of them. */
  let heldKids = new Set<string>();
  const noteKeySet = () => {
    heldKids = new Set((remote.jwks()?.keys ?? []).flatMap((k) => (k.kid ? [k.kid] : [])));
  };
  let lastRefresh = 0;
  const refreshInBackground = () => {
    if (Date.now() - lastRefresh < config.jwksMaxAgeMs || remote.reloading) return;
    lastRefresh = Date.now();
    remote
      .reload()
      .then(noteKeySet)
      .catch((err: Error) => onRefreshFailed(err));
  };
  const getKey: JWTVerifyGetKey = async (header: ProtectedHeaderParameters, token) => {
    try {
      const cold = remote.jwks() === undefined;
      const key = await remote(header, token);
      // An unknown kid may have made jose fetch the set again (a rotation): note what it holds now.
      noteKeySet();
      if (cold) lastRefresh = Date.now();
      else refreshInBackground();
      return key;
    } catch (err) {
      throw isFetchFailure(err)
        ? new AuthUnavailableError(`the issuer's keys cannot be fetched: ${describe(err)}`)
        : err;
    }
  };

  const cacheMs = config.verifiedCacheMs ?? 60_000;
  const remembered = new Map<string, { caller: Caller; exp: number; kid: string; until: number }>();

  return {
    async warmUp() {
      await remote.reload();
      noteKeySet();
      lastRefresh = Date.now();
    },
    async verify(token) {
      if (!token) throw new AuthError(undefined, "no bearer token");
      if (token.length > MAX_TOKEN_LENGTH) {
        throw new AuthError("invalid_token", `the token is longer than ${MAX_TOKEN_LENGTH} characters`);
      }
      const digest = cacheMs > 0 ? createHash("sha256").update(token).digest("base64url") : "";
      const known = cacheMs > 0 ? remembered.get(digest) : undefined;
      if (known) {
        // Not expired (jose's rule: exp > now - tolerance) and its key still held; otherwise verified again.
        if (
          Date.now() < known.until &&
          known.exp > Date.now() / 1000 - config.clockToleranceS &&
          heldKids.has(known.kid)
        ) {
          refreshInBackground();
          return known.caller;
        }
        remembered.delete(digest);
      }
      let payload: JWTPayload;
      let kid: string | undefined;
      try {
        ({
          payload,
          protectedHeader: { kid },
        } = await jwtVerify(token, getKey, {
          issuer: config.issuer,
          audience: config.audience,
          algorithms: config.algorithms,
          clockTolerance: config.clockToleranceS,
          requiredClaims: ["sub", "exp"],
        }));
      } catch (err) {
        if (err instanceof AuthUnavailableError) throw err;
        throw new AuthError("invalid_token", reasonOf(err));
      }
      const subject = payload.sub as string;
      if (!subject.trim()) throw new AuthError("invalid_token", 'the token\'s "sub" is empty');
      const scopes = new Set(typeof payload.scope === "string" ? payload.scope.split(" ").filter(Boolean) : []);
      const caller = { issuer: config.issuer, subject, scopes, operator: scopes.has(config.operatorScope) };
      if (cacheMs > 0 && kid) {
        if (remembered.size >= MAX_REMEMBERED) remembered.delete(remembered.keys().next().value as string);
        remembered.set(digest, { caller, exp: payload.exp as number, kid, until: Date.now() + cacheMs });
      }
      return caller;
    },
  };
}

/** The key set could not be had (as opposed to: the token does not verify). */
function isFetchFailure(err: unknown): boolean {
  if (err instanceof errors.JWKSTimeout) return true;
  // A bad status or body from the JWKS endpoint is a plain JOSEError.
  if (err instanceof errors.JOSEError) return err.code === "ERR_JOSE_GENERIC" || err instanceof errors.JWKSInvalid;
  // fetch() itself: connection refused, DNS, reset.
  return err instanceof TypeError;
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string } }).cause?.code;
  return cause ? `${(err as Error).message} (${cause})` : (err as Error).message;
}

/** A reason a caller can act on, without echoing the token. */
function reasonOf(err: unknown): string {
  if (err instanceof errors.JWTExpired) return "the token has expired";
  if (err instanceof errors.JWTClaimValidationFailed)
    return `the token's "${err.claim}" claim is not valid (${err.reason})`;
  if (err instanceof errors.JOSEAlgNotAllowed) return "the token's algorithm is not allowed";
  if (err instanceof errors.JWKSNoMatchingKey) return "the token's key is not one the issuer publishes";
  if (err instanceof errors.JWSSignatureVerificationFailed) return "the token's signature does not verify";
  if (err instanceof errors.JWTInvalid || err instanceof errors.JWSInvalid) return "the token is malformed";
  if (err instanceof errors.JOSENotSupported) return "the token uses an unsupported algorithm or key";
  return "the token is not valid";
}

/**
 * A verifier as a service starts it: keys fetched now rather than on the first
 * call, and a failure only logged (calls answer 503 / UNAVAILABLE until the keys
 * can be had); failed background refreshes logged too.
 */
export function startVerifier(config: VerifierConfig, warn: (fields: object, msg: string) => void): Verifier {
  const verifier = createVerifier(config, (err) =>
    warn({ err: err.message }, "refreshing the issuer's keys failed; the keys already fetched stay in use"),
  );
  verifier
    .warmUp()
    .catch((err: Error) =>
      warn({ err: err.message, jwksUrl: config.jwksUrl }, "the issuer's keys are unavailable at start"),
    );
  return verifier;
}
