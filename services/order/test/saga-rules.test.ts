/**
 * The saga's rules as a table, without Postgres: every result in every order,
 * duplicates anywhere, late results after a final state. order-saga.test.ts
 * checks the same rules applied to the database.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyResult, type Publication, type SagaResult, type SagaState } from "../src/saga-rules.js";

const placed: SagaState = {
  status: "PENDING",
  stockResult: null,
  paymentResult: null,
  cancelReason: null,
  paymentDetail: null,
  paymentAmountCents: null,
  totalCents: null,
  waitingOn: "stock",
};

const R: SagaResult = {
  kind: "stockReserved",
  totalCents: 20700,
  unitPrices: [{ sku: "KB-001", unitPriceCents: 8900 }],
};
const J: SagaResult = { kind: "stockRejected", reason: "out of stock: LT-001 (requested 5, available 3)" };
const S: SagaResult = { kind: "paymentSucceeded", amountCents: 20700 };
const F: SagaResult = { kind: "paymentFailed", reason: "card declined" };
const name = (r: SagaResult) =>
  ({ stockReserved: "R", stockRejected: "J", paymentSucceeded: "S", paymentFailed: "F" })[r.kind];

/** Applies the results in turn, as the consumers would; what the order ends as, and everything written. */
function run(results: SagaResult[], from: SagaState = placed) {
  let state = from;
  const steps: string[] = [];
  const publish: Publication[] = [];
  let repeats = 0;
  for (const r of results) {
    const before = JSON.stringify(state);
    const d = applyResult(state, r);
    assert.equal(JSON.stringify(state), before, "the state given is not changed");
    if (!d) {
      repeats++;
      continue;
    }
    state = d.next;
    steps.push(...d.steps.map((s) => s.step));
    publish.push(...d.publish);
  }
  return { state, steps, publish, repeats };
}

/** Every ordering of `items` (duplicates included). */
function orderings<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    orderings([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

const outcomes: {
  results: SagaResult[];
  status: string;
  steps: string[];
  publish: Publication[];
  reason: string | null;
}[] = [
  {
    results: [R, S],
    status: "CONFIRMED",
    steps: ["stock_reserved", "payment_succeeded", "confirmed"],
    publish: [{ event: "orderConfirmed", totalCents: 20700 }],
    reason: null,
  },
  {
    results: [R, F],
    status: "CANCELLED",
    steps: ["stock_reserved", "payment_failed", "cancelled"],
    publish: [{ event: "orderCancelled", reason: "payment declined: card declined", stockWasReserved: true }],
    reason: "payment declined: card declined",
  },
  {
    results: [J],
    status: "CANCELLED",
    steps: ["stock_rejected", "cancelled"],
    publish: [{ event: "orderCancelled", reason: J.kind === "stockRejected" ? J.reason : "", stockWasReserved: false }],
    reason: J.kind === "stockRejected" ? J.reason : null,
  },
];

describe("saga rules (a pure function)", () => {
  for (const o of outcomes) {
    // Each result once or twice, in every order.
    const withRepeats = [...o.results, ...o.results];
    const cases = new Map(orderings(withRepeats).map((rs) => [rs.map(name).join(""), rs]));
    it(`when ${o.results.map(name).join(" and ")} arrive in any of ${cases.size} orders, each possibly twice, then ${o.status}, the same steps in saga order, published once`, () => {
      for (const [label, rs] of cases) {
        for (const sequence of [rs, rs.filter((r, i) => rs.indexOf(r) === i)]) {
          const got = run(sequence);
          assert.equal(got.state.status, o.status, label);
          assert.deepEqual(got.steps, o.steps, label);
          assert.deepEqual(got.publish, o.publish, label);
          assert.equal(got.state.cancelReason, o.reason, label);
          assert.equal(got.state.waitingOn, null, `${label}: a final order waits on nothing`);
          assert.equal(got.repeats, sequence.length - o.results.length, `${label}: every repeat changes nothing`);
        }
      }
    });
  }

  it("when only the stock is reserved, then the order waits on payment from now, total known", () => {
    const d = applyResult(placed, R);
    assert.equal(d?.next.status, "PENDING");
    assert.equal(d?.next.waitingOn, "payment");
    assert.equal(d?.startsWaitingOn, "payment");
    assert.equal(d?.next.totalCents, 20700);
    assert.deepEqual(d?.unitPrices, [{ sku: "KB-001", unitPriceCents: 8900 }]);
  });

  it("when the payment result comes first, then it is recorded and waits: no step, no status, still waiting on stock", () => {
    const d = applyResult(placed, S);
    assert.deepEqual(
      [d?.next.status, d?.next.paymentResult, d?.next.waitingOn, d?.steps, d?.publish],
      ["PENDING", "succeeded", "stock", [], []],
    );
  });

  it("when a result arrives after the order is final, then it is recorded at most, and nothing else happens", () => {
    const cancelled = run([J]).state;
    const late = applyResult(cancelled, S);
    assert.deepEqual([late?.next.status, late?.steps, late?.publish], ["CANCELLED", [], []]);
    assert.equal(applyResult(cancelled, R), null, "the stock result is already recorded");
    const confirmed = run([R, S]).state;
    assert.equal(applyResult(confirmed, F), null, "the payment result is already recorded");
    assert.equal(applyResult(confirmed, J), null);
  });
});
