import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { acceptCorrelationId, createLogger, withCorrelation } from "../src/index.js";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, destination };
}

describe("createLogger", () => {
  it("when a line is written inside a correlation context, then it carries the correlation id", async () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: "test", destination });
    log.info("outside");
    await withCorrelation({ correlationId: "c-1", causationId: "m-9" }, async () => {
      await new Promise((r) => setTimeout(r, 1));
      log.info("inside, after an await");
    });
    assert.equal(lines[0]?.correlationId, undefined);
    assert.equal(lines[1]?.correlationId, "c-1");
    assert.equal(lines[1]?.causationId, "m-9");
    assert.equal(lines[1]?.service, "test");
    assert.equal(lines[1]?.level, "info");
  });
});

describe("acceptCorrelationId", () => {
  it("when the caller sends a sane id, then it is kept", () => {
    assert.equal(acceptCorrelationId("req-123_abc.def:1"), "req-123_abc.def:1");
  });

  it("when the id is missing, too long or carries odd characters, then a new one is minted", () => {
    for (const bad of [undefined, "", "a".repeat(129), "bad id", "x\ny", ["a"]]) {
      const id = acceptCorrelationId(bad);
      assert.match(id, /^[0-9a-f-]{36}$/);
    }
  });
});
