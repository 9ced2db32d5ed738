/**
 * The load stage's two shapes: a closed loop (N clients, each POSTing again as
 * soon as it has its answer, waiting as Retry-After says when refused) and an
 * open loop (one POST every 1/rate s, whatever the answers do).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Answer } from "../load.js";

export interface LoadResult {
  accepted: number;
  failed: number;
  seconds: number;
  latencies: number[];
  /** A refusal with a Retry-After: admission control's 503 (/problems/system-busy) or the rate limit's 429. */
  refused: number;
  /** Any other 5xx (a 502 or 504 is the system drowning, not refusing). */
  otherErrors: number;
  /** Every answer that was not a 201, by status (0: no answer). */
  statuses: Record<string, number>;
  /** Of a closed loop: the orders accepted in its first 10 s (a burst into a system that had drained). */
  acceptedInFirst10s: number;
}

/** POSTs the n-th order of the mix. */
export type Post = (n: number) => Promise<Answer>;

function count(result: LoadResult, answer: Answer) {
  if (answer.status === 201) {
    result.accepted++;
    result.latencies.push(answer.ms);
    return;
  }
  result.failed++;
  const key = answer.type ? `${answer.status} ${answer.type}` : String(answer.status);
  result.statuses[key] = (result.statuses[key] ?? 0) + 1;
  const refusal = answer.status === 429 || (answer.status === 503 && answer.type === "/problems/system-busy");
  if (refusal && answer.retryAfterS !== undefined) result.refused++;
  else if (answer.status >= 500 || answer.status === 0) result.otherErrors++;
}

const emptyResult = (seconds: number): LoadResult => ({
  accepted: 0,
  failed: 0,
  seconds,
  latencies: [],
  refused: 0,
  otherErrors: 0,
  statuses: {},
  acceptedInFirst10s: 0,
});

export async function closedLoop(post: Post, clients: number, seconds: number): Promise<LoadResult> {
  const started = performance.now();
  const until = started + seconds * 1000;
  const result = emptyResult(seconds);
  let n = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const answer = await post(n++);
        count(result, answer);
        if (answer.status === 201 && performance.now() - started <= 10_000) result.acceptedInFirst10s++;
        if (answer.status !== 201 && answer.retryAfterS) {
          await sleep(Math.min(answer.retryAfterS * 1000, Math.max(0, until - performance.now())));
        }
      }
    }),
  );
  return result;
}

export async function openLoop(post: Post, rate: number, seconds: number): Promise<LoadResult> {
  const started = performance.now();
  const total = Math.floor(rate * seconds);
  const result = emptyResult(seconds);
  const inFlight: Promise<void>[] = [];
  for (let n = 0; n < total; n++) {
    const due = started + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    inFlight.push(post(n).then((answer) => count(result, answer)));
  }
  await Promise.all(inFlight);
  return result;
}
