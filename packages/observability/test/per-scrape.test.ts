import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { perScrape } from "../src/per-scrape.js";

describe("perScrape", () => {
  it("when several gauges read within the ttl, then the read runs once", async () => {
    let reads = 0;
    const read = perScrape(async () => ++reads, 50);
    assert.deepEqual(await Promise.all([read(), read(), read()]), [1, 1, 1]);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(await read(), 2, "the next scrape reads again");
  });

  it("when a read fails, then the failure is not kept", async () => {
    let fail = true;
    const read = perScrape(async () => {
      if (fail) throw new Error("database down");
      return "ok";
    }, 10_000);
    await assert.rejects(read(), /database down/);
    fail = false;
    assert.equal(await read(), "ok");
  });
});
