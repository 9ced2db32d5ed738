/**
 * Is this error the database being away, rather than the work being wrong?
 *
 * A consumer must tell the two apart: a message that fails because Postgres is
 * restarting is not poison, and must not be dead-lettered; a caller of
 * PlaceOrder must hear UNAVAILABLE (retry with the same key), not INTERNAL.
 * The classes: the socket refused, reset or closed under the query; SQLSTATE
 * class 08 (connection exception); 57P01/57P02/57P03 (the server is shutting
 * down, crashed, or is still starting up); 53300 (too many connections).
 * drizzle wraps driver errors, so the whole `cause` chain is inspected.
 */

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTCONN"]);
const SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300"]);
const MESSAGES = [
  /connection terminated/i,
  /connection (?:was )?closed/i,
  /not queryable/i,
  /the database system is (?:starting up|shutting down|in recovery mode)/i,
  /terminating connection due to administrator command/i,
  /timeout exceeded when trying to connect/i,
];

export function isConnectionError(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (typeof e !== "object") return false;
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === "string" && (NETWORK_CODES.has(code) || SQLSTATES.has(code) || code.startsWith("08"))) {
      return true;
    }
    if (typeof message === "string" && MESSAGES.some((m) => m.test(message))) return true;
  }
  return false;
}
