/**
 * Group commit: calls that arrive while a group is being written wait, and
 * are written together in the next group, in ONE round trip and ONE commit,
 * up to `maxSize` at a time. A call that finds nothing in flight is written at
 * once, alone: under a trickle nothing waits, under load the groups fill.
 *
 * When a group fails, each of its calls is written again alone, so each gets
 * its own outcome and its own error (one bad call never fails the others).
 */
export function groupCommit<I, O>(
  write: (items: I[]) => Promise<O[]>,
  options: { maxSize: number; onGroup?: (size: number) => void },
): (item: I) => Promise<O> {
  type Waiting = { item: I; resolve: (o: O) => void; reject: (e: unknown) => void };
  const queue: Waiting[] = [];
  let writing = false;

  async function flush(): Promise<void> {
    writing = true;
    while (queue.length) {
      const group = queue.splice(0, options.maxSize);
      options.onGroup?.(group.length);
      try {
        const outcomes = await write(group.map((w) => w.item));
        group.forEach((w, i) => {
          w.resolve(outcomes[i] as O);
        });
      } catch (err) {
        if (group.length === 1) (group[0] as Waiting).reject(err);
        else
          await Promise.all(
            group.map((w) =>
              write([w.item]).then(
                ([outcome]) => w.resolve(outcome as O),
                (e) => w.reject(e),
              ),
            ),
          );
      }
    }
    writing = false;
  }

  return (item) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!writing) void flush();
    });
}
