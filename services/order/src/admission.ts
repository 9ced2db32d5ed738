/**
 * Admission control: new orders are refused while the system is behind.
 *
 * With messaging, publishers can outrun consumers: an order accepted in a
 * millisecond may take the consumers seconds to finish, and a service that
 * keeps accepting at any rate piles up pending orders without bound, and
 * starves the very consumers that would finish them. The caller path is where
 * that can be said to a client. So PlaceOrder first asks: how many orders are
 * pending? At or above the bound, it refuses with RESOURCE_EXHAUSTED and how
 * long to wait (the gateway answers 503 with Retry-After), before any work.
 *
 * The bound is a backlog, and by Little's law a backlog is a wait: bound =
 * completion rate x the longest an accepted order should wait to be final. At
 * 20 completed orders/s and 30 s, 600. The count of pending orders is read
 * every `refreshMs` (one indexed query, not one per call), and the orders
 * being placed, and those placed since the count began, are added to it, so a burst between two counts is bounded too.
 */
import type { Logger } from "@orderflow/logging";
import type pg from "pg";

/** Thrown by admit(): the system is behind; the caller should come back after `retryAfterS`. */
export class BackloggedError extends Error {
  override name = "BackloggedError";
  constructor(
    readonly pending: number,
    readonly bound: number,
    readonly retryAfterS: number,
  ) {
    super(
      `the system is behind: ${pending} orders pending (bound ${bound}); nothing was placed, retry after ${retryAfterS} s with the same key`,
    );
  }
}

export interface AdmissionOptions {
  pool: pg.Pool;
  logger: Logger;
  /** Pending orders at most; 0 turns admission control off. */
  maxPending: number;
  /** How often the pending orders are counted. */
  refreshMs?: number;
}

export interface Admission {
  /**
   * Counts one more order in, or throws BackloggedError; call the function it
   * returns once the placement is over (committed or not).
   */
  admit(): () => void;
  /** The pending orders as last counted, plus those placed or being placed since. */
  readonly pending: number;
  stop(): void;
}

export function startAdmission({ pool, logger, maxPending, refreshMs = 200 }: AdmissionOptions): Admission {
  let counted = 0; // PENDING orders in the last count's snapshot
  let inFlight = 0; // admitted, placement not over: not in any snapshot yet
  let finished = 0; // placements over, ever
  let finishedAtCount = 0; // ... when the last count began: those after it may be missing from it
  let completedPerS = 0; // smoothed: orders that left PENDING per second
  let lastCount: { at: number; pending: number; finished: number } | undefined;
  let refusing = false;
  let stopped = false;

  // Errs on the safe side: a placement that ended while the count ran is counted whether or not the
  // snapshot saw it, and one that placed nothing (a replay, an error) until the next count.
  const estimate = () => counted + (finished - finishedAtCount) + inFlight;

  async function count() {
    const finishedBefore = finished;
    const started = performance.now();
    const { rows } = await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM orders.orders WHERE status = 'PENDING'",
    );
    const now = performance.now();
    const pending = rows[0]?.n ?? 0;
    if (lastCount) {
      // What left the backlog: what was there, plus what came in, minus what is there now.
      const left = lastCount.pending + (finishedBefore - lastCount.finished) - pending;
      const rate = Math.max(0, left) / ((now - lastCount.at) / 1000);
      completedPerS = completedPerS === 0 ? rate : 0.8 * completedPerS + 0.2 * rate;
    }
    lastCount = { at: started, pending, finished: finishedBefore };
    counted = pending;
    finishedAtCount = finishedBefore;
  }

  const loop = (async () => {
    while (!stopped && maxPending > 0) {
      try {
        await count();
      } catch (err) {
        // The database is away: PlaceOrder fails on its own (UNAVAILABLE); keep the last count.
        logger.debug({ err: (err as Error).message }, "admission: counting pending orders failed");
      }
      await new Promise((r) => setTimeout(r, refreshMs).unref());
    }
  })();

  return {
    admit() {
      if (maxPending <= 0) return () => {};
      const pending = estimate();
      if (pending >= maxPending) {
        if (!refusing)
          logger.warn({ pending, bound: maxPending }, "admission: the system is behind; refusing new orders");
        refusing = true;
        // Long enough for the backlog to fall back below 90 % of the bound at the rate it is worked off.
        const excess = pending - Math.floor(maxPending * 0.9);
        const retryAfterS = Math.min(30, Math.max(1, Math.ceil(excess / Math.max(completedPerS, 1))));
        throw new BackloggedError(pending, maxPending, retryAfterS);
      }
      if (refusing) logger.info({ pending, bound: maxPending }, "admission: accepting new orders again");
      refusing = false;
      inFlight++;
      let over = false;
      return () => {
        if (over) return;
        over = true;
        inFlight--;
        finished++;
      };
    },
    get pending() {
      return estimate();
    },
    stop() {
      stopped = true;
      void loop;
    },
  };
}
