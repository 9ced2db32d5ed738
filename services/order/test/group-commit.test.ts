import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { groupCommit } from "../src/group-commit.js";

describe("groupCommit", () => {
  it("when nothing is in flight, then a call is written at once, alone; calls that arrive meanwhile go together next", async () => {
    const groups: number[][] = [];
    const write = groupCommit(
      async (items: number[]) => {
        groups.push(items);
        await new Promise((r) => setTimeout(r, 20));
        return items.map((i) => i * 10);
      },
      { maxSize: 3 },
    );
    const outcomes = await Promise.all([1, 2, 3, 4, 5, 6].map(write));
    assert.deepEqual(outcomes, [10, 20, 30, 40, 50, 60]);
    assert.deepEqual(groups, [[1], [2, 3, 4], [5, 6]], "the first alone, then groups of at most maxSize");
  });

  it("when a group fails, then each of its calls is written again alone and gets its own outcome or error", async () => {
    const groups: number[][] = [];
    const write = groupCommit(
      async (items: number[]) => {
        groups.push(items);
        await new Promise((r) => setTimeout(r, 5));
        if (items.includes(3)) throw new Error(`3 is refused (with ${items.join(",")})`);
        return items;
      },
      { maxSize: 10 },
    );
    const results = await Promise.allSettled([1, 2, 3, 4].map(write));
    assert.deepEqual(
      results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message)),
      [1, 2, "3 is refused (with 3)", 4],
    );
    assert.deepEqual(groups, [[1], [2, 3, 4], [2], [3], [4]]);
  });
});
