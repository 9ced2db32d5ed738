/**
 * Shares one read between the gauges of a scrape: gauges that are computed
 * from the same query (outbox pending rows and oldest age; pending and stalled
 * orders; a consumer's lag and ack-pending) call the function, and every call
 * within `ttlMs` gets the same promise, so a scrape costs one query, not one
 * per gauge.
 */
export function perScrape<T>(read: () => Promise<T>, ttlMs = 1000): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!last || Date.now() - last.at > ttlMs) {
      const value = read();
      last = { at: Date.now(), value };
      // A failed read is not kept: the next scrape tries again.
      value.catch(() => {
        if (last?.value === value) last = undefined;
      });
    }
    return last.value;
  };
}
