/**
 * A trend that one outlier cannot tilt: the soak judges its slopes with it
 * (per-minute p99s have single-minute stalls; a least-squares fit follows them).
 */

/** The Theil-Sen slope of `points` (x, y): the median of the slopes of every pair; 0 with fewer than two. */
export function theilSen(points: (readonly [number, number])[]): number {
  const finite = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const slopes: number[] = [];
  for (let i = 0; i < finite.length; i++) {
    for (let j = i + 1; j < finite.length; j++) {
      const [xi, yi] = finite[i] as readonly [number, number];
      const [xj, yj] = finite[j] as readonly [number, number];
      if (xj !== xi) slopes.push((yj - yi) / (xj - xi));
    }
  }
  if (!slopes.length) return 0;
  slopes.sort((a, b) => a - b);
  const mid = Math.floor(slopes.length / 2);
  return slopes.length % 2 ? (slopes[mid] as number) : ((slopes[mid - 1] as number) + (slopes[mid] as number)) / 2;
}
