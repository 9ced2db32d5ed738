import { setTimeout as sleep } from "node:timers/promises";
import { backoffDelayMs } from "@orderflow/backoff";
import type pg from "pg";

export interface WaitForDatabaseOptions {
  /** Give up after this long (default 60 s): a service that cannot reach its database for that long exits. */
  timeoutMs?: number;
  /** Told of every failed attempt, with the delay before the next one. */
  onRetry?: (info: { attempt: number; err: Error; retryInMs: number }) => void;
}

/**
 * Waits until Postgres answers `SELECT 1`: at boot, Postgres may still be
 * starting or recovering. Retries with a capped exponential delay; bounded.
 */
export async function waitForDatabase(pool: pg.Pool, options: WaitForDatabaseOptions = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (let attempt = 1; ; attempt++) {
    try {
      await pool.query("SELECT 1");
      return;
    } catch (err) {
      const retryInMs = backoffDelayMs(attempt, { baseMs: 100, maxMs: 2000 });
      if (Date.now() + retryInMs > deadline) {
        throw new Error(`database unreachable after ${attempt} attempts: ${(err as Error).message}`, { cause: err });
      }
      options.onRetry?.({ attempt, err: err as Error, retryInMs });
      await sleep(retryInMs);
    }
  }
}
