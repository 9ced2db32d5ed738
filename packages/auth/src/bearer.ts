/**
 * The bearer token of a request, read as RFC 6750 says: only from one
 * `Authorization: Bearer <token>` header. A token in the query string
 * (`access_token=`) is refused rather than used: URLs end up in logs, browser
 * history and proxies. Two Authorization headers are refused too: which one
 * would count is a guess (Node keeps the first and drops the rest silently).
 */
import { AuthError } from "./verifier.js";

/** RFC 6750's token68 syntax. */
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

export interface BearerSource {
  /** Every value of the Authorization header, in order (none: absent). */
  authorization: string[];
  /** Whether the query string carries `access_token`. */
  tokenInQuery: boolean;
}

/** The token, or an AuthError saying what is wrong with the credentials. */
export function bearerToken(source: BearerSource): string {
  if (source.tokenInQuery) {
    throw new AuthError(
      "invalid_request",
      "a token in the query string (access_token) is refused: send it in the Authorization header",
    );
  }
  if (source.authorization.length > 1) {
    throw new AuthError("invalid_request", "more than one Authorization header");
  }
  const header = source.authorization[0]?.trim() ?? "";
  if (!header) throw new AuthError(undefined, "no bearer token: send Authorization: Bearer <token>");
  const space = header.indexOf(" ");
  const scheme = space < 0 ? header : header.slice(0, space);
  if (scheme.toLowerCase() !== "bearer") {
    throw new AuthError(
      undefined,
      `the ${JSON.stringify(scheme.slice(0, 20))} scheme is not accepted: send a Bearer token`,
    );
  }
  const token = space < 0 ? "" : header.slice(space + 1).trim();
  if (!token) throw new AuthError("invalid_token", "the bearer token is empty");
  if (!TOKEN68.test(token)) throw new AuthError("invalid_token", "the bearer token is malformed");
  return token;
}

/** Every value of a header in Node's raw header list ([name, value, name, value, ...]). */
export function rawHeaderValues(rawHeaders: string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === name) values.push(rawHeaders[i + 1] as string);
  }
  return values;
}

/** The WWW-Authenticate challenge of a refusal (RFC 6750 section 3). */
export function bearerChallenge(realm: string, error?: AuthError): string {
  const quote = (s: string) => s.replace(/["\\]/g, "'");
  const parts = [`realm="${quote(realm)}"`];
  if (error?.code) parts.push(`error="${error.code}"`, `error_description="${quote(error.message)}"`);
  return `Bearer ${parts.join(", ")}`;
}
