import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { theilSen } from "../src/slope.js";

describe("theilSen", () => {
  const minutes = Array.from({ length: 31 }, (_, i) => (31 + i) / 60);

  it("when a series grows steadily, then the slope is its rate per unit of x", () => {
    assert.ok(Math.abs(theilSen(minutes.map((x) => [x, 100 + 30 * x])) - 30) < 1e-9);
  });

  it("when a flat series has one stall in its last sample, then the slope stays 0, where least squares tilts by hundreds", () => {
    const points = minutes.map((x, i) => [x, i === minutes.length - 1 ? 2300 : 50] as const);
    assert.equal(theilSen(points), 0);
    const mx = minutes.reduce((a, x) => a + x, 0) / minutes.length;
    const my = points.reduce((a, [, y]) => a + y, 0) / points.length;
    const leastSquares =
      points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / minutes.reduce((a, x) => a + (x - mx) ** 2, 0);
    assert.ok(leastSquares > 500, `least squares: ${leastSquares}`);
  });

  it("when a series grows under noise, then the slope is close to its growth", () => {
    const noise = [3, -2, 5, -4, 1, 0, -3, 4, -1, 2];
    const slope = theilSen(minutes.map((x, i) => [x, 20 * x + (noise[i % noise.length] as number)]));
    assert.ok(Math.abs(slope - 20) < 20, `slope ${slope}`);
    assert.ok(slope > 0);
  });

  it("when there are fewer than two finite points, then the slope is 0", () => {
    assert.equal(theilSen([]), 0);
    assert.equal(theilSen([[1, 5]]), 0);
    assert.equal(
      theilSen([
        [1, 5],
        [2, Number.NaN],
      ]),
      0,
    );
  });
});
