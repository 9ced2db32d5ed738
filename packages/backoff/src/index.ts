/**
 * The one backoff policy of the system: exponential, capped, optionally with
 * full jitter. Every retry uses it: the gateway's calls to the order service,
 * a consumer's nak delays, the outbox relay after a failure, waiting for the
 * database, provisioning, the harness's supervisor.
 *
 *   delay(attempt) = min(maxMs, baseMs * 2^(attempt - 1)), attempt 1-based;
 *   with jitter "full", a random delay in [0, that].
 *
 * Full jitter spreads the retries of many callers instead of syncing them into
 * waves (a retry storm); a single caller waiting for a resource needs none.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  jitter?: "none" | "full";
}

export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (Math.max(1, attempt) - 1));
  return policy.jitter === "full" ? Math.floor(random() * ceiling) : ceiling;
}

/** A policy as a function of the attempt number, for options that take one. */
export function exponentialBackoff(policy: BackoffPolicy): (attempt: number) => number {
  return (attempt) => backoffDelayMs(attempt, policy);
}
