import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { orderTarget } from "../src/order-client.js";

describe("orderTarget", () => {
  it("when one address is given, then it is the target as it is", () => {
    assert.equal(orderTarget("order:50051"), "order:50051");
  });
  it("when several IPv4 addresses are given, then one ipv4: target balances over them", () => {
    assert.equal(orderTarget("127.0.0.1:50051, 127.0.0.1:50052"), "ipv4:127.0.0.1:50051,127.0.0.1:50052");
  });
  it("when a list holds a host name, then it is refused with a message that says what to do", () => {
    assert.throws(() => orderTarget("order-1:50051,order-2:50051"), /IPv4 host:port .* one DNS name/);
  });
});
