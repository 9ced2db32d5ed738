/**
 * The retry decision of caller-owned completion.
 *
 * The caller, not the server, decides when a call is over: each attempt gets
 * its own deadline; an attempt that fails with UNAVAILABLE (never reached a
 * server, or the connection dropped) or DEADLINE_EXCEEDED (no answer in time:
 * the server MAY have done the work) is tried again after an exponential
 * backoff with full jitter, up to `maxAttempts`. Every other status is an
 * answer and is returned at once. Retrying a call whose work may have been
 * done is safe only because every attempt carries the same idempotency key.
 */

import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import { backoffDelayMs } from "@orderflow/backoff";
import { isGrpcError } from "@orderflow/contracts";

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Deadline of each attempt. */
  attemptTimeoutMs: number;
  /** Backoff before attempt n+1 is random in [0, min(maxBackoffMs, baseBackoffMs * 2^(n-1))]. */
  baseBackoffMs: number;
  maxBackoffMs: number;
}

export const RETRYABLE_CODES: ReadonlySet<grpc.status> = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
]);

export function isRetryable(err: unknown): boolean {
  return isGrpcError(err) && RETRYABLE_CODES.has(err.code);
}

const backoffOf = (policy: RetryPolicy) => ({ baseMs: policy.baseBackoffMs, maxMs: policy.maxBackoffMs });

/** Full jitter: spreads the retries of many callers instead of syncing them into waves. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  return backoffDelayMs(attempt, { ...backoffOf(policy), jitter: "full" }, random);
}

/** The longest a call can take with this policy: what a caller of the gateway may wait. */
export function worstCaseMs(policy: RetryPolicy): number {
  let total = policy.maxAttempts * policy.attemptTimeoutMs;
  for (let a = 1; a < policy.maxAttempts; a++) total += backoffDelayMs(a, backoffOf(policy));
  return total;
}

export interface Attempt {
  /** 1-based. */
  number: number;
  deadline: Date;
}

export async function callWithRetry<T>(
  call: (attempt: Attempt) => Promise<T>,
  policy: RetryPolicy,
  onRetry: (info: { attempt: number; code: grpc.status; delayMs: number }) => void = () => {},
): Promise<T> {
  for (let number = 1; ; number++) {
    try {
      return await call({ number, deadline: new Date(Date.now() + policy.attemptTimeoutMs) });
    } catch (err) {
      if (!isRetryable(err) || number >= policy.maxAttempts) throw err;
      const delayMs = backoffMs(number, policy);
      onRetry({ attempt: number, code: (err as grpc.ServiceError).code, delayMs });
      await sleep(delayMs);
    }
  }
}
