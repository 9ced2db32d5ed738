/**
 * Authentication at the edge: every /api/v1 request carries a bearer token,
 * verified (packages/auth) before any lookup; the caller it names is
 * `request.caller`, and the token itself is `request.bearer`, passed on to the
 * order service, which checks it again (it trusts no network).
 *
 * Refusals say why in RFC 6750's terms: 401 with `WWW-Authenticate: Bearer`
 * (no token, or a bad one), 400 for a malformed request (two Authorization
 * headers, a token in the query string), 503 when the issuer's keys cannot be
 * had yet (no decision possible: retry, rather than "your token is bad").
 */
import {
  AuthError,
  AuthUnavailableError,
  bearerChallenge,
  bearerToken,
  type Caller,
  rawHeaderValues,
  type Verifier,
} from "@orderflow/auth";
import type { FastifyReply, FastifyRequest } from "fastify";
import { sendProblem } from "./problem.js";

export const REALM = "orderflow";

declare module "fastify" {
  interface FastifyRequest {
    caller?: Caller;
    bearer?: string;
  }
}

/** The caller of an authenticated route (the hook ran before it). */
export function callerOf(request: FastifyRequest): { caller: Caller; bearer: string } {
  if (!request.caller || !request.bearer) throw new Error("route reached without authentication");
  return { caller: request.caller, bearer: request.bearer };
}

export function authenticate(verifier: Verifier) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      const token = bearerToken({
        authorization: rawHeaderValues(request.raw.rawHeaders, "authorization"),
        tokenInQuery: /[?&]access_token=/.test(request.url),
      });
      request.caller = await verifier.verify(token);
      request.bearer = token;
    } catch (err) {
      return refuse(reply, err);
    }
  };
}

/** The answer to a request whose credentials failed (or could not be checked). */
export function refuse(reply: FastifyReply, err: unknown) {
  if (err instanceof AuthUnavailableError) {
    reply.request.log.warn({ err: err.message }, "cannot verify tokens: the issuer's keys are unavailable");
    return sendProblem(reply.header("Retry-After", "1"), {
      type: "/problems/auth-unavailable",
      title: "Tokens cannot be verified right now; retry after Retry-After seconds",
      status: 503,
      detail: "the issuer's keys are unavailable",
    });
  }
  if (!(err instanceof AuthError)) throw err;
  const badRequest = err.code === "invalid_request";
  reply.header("WWW-Authenticate", bearerChallenge(REALM, err));
  return sendProblem(reply, {
    type: badRequest ? "/problems/invalid-credentials-request" : "/problems/unauthenticated",
    title: badRequest ? "Credentials sent in a way that is refused" : "A valid bearer token is required",
    status: badRequest ? 400 : 401,
    detail: err.message,
  });
}

/** 403: authenticated, but this is not the caller's to do. */
export function forbid(reply: FastifyReply, detail: string) {
  return sendProblem(reply, { type: "/problems/forbidden", title: "Forbidden", status: 403, detail });
}
