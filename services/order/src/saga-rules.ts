/**
 * The order saga's rules as a pure function: given what the order has
 * recorded and one result, what changes, which timeline steps are written
 * (in order), and what is published. No database, no clock: order-saga.ts
 * applies the decision inside the order row's lock, in the consumer's
 * transaction (the model: wild-workouts' UpdateTraining(ctx, id, updateFn),
 * the rule in the domain, the repository around it).
 *
 *   placed --stock reserved--+--payment succeeded--> CONFIRMED
 *      |                     \--payment failed--> CANCELLED (+ stock released)
 *      \--stock rejected--> CANCELLED
 *
 * Results arrive in ANY order: payment consumes inventory.stock.reserved too,
 * and the results travel on different streams. Each result is recorded once,
 * whichever comes first (a repeat changes nothing), and the status follows only
 * from what is recorded: reserved + succeeded -> CONFIRMED; rejected, or
 * reserved + failed -> CANCELLED. A payment result that comes first waits; its
 * step is written once the stock step stands, so the timeline reads in saga
 * order whatever the arrival order.
 */

export type OrderStatus = "PENDING" | "CONFIRMED" | "CANCELLED";

/** What an order has recorded: the part of its row the rules read. */
export interface SagaState {
  status: OrderStatus;
  stockResult: "reserved" | "rejected" | null;
  paymentResult: "succeeded" | "failed" | null;
  cancelReason: string | null;
  paymentDetail: string | null;
  paymentAmountCents: number | null;
  totalCents: number | null;
  waitingOn: string | null;
}

export type SagaResult =
  | { kind: "stockReserved"; totalCents: number; unitPrices: { sku: string; unitPriceCents: number }[] }
  | { kind: "stockRejected"; reason: string }
  | { kind: "paymentSucceeded"; amountCents: number }
  | { kind: "paymentFailed"; reason: string };

export type Publication =
  | { event: "orderConfirmed"; totalCents: number }
  | { event: "orderCancelled"; reason: string; stockWasReserved: boolean };

export interface SagaDecision {
  /** The order's new state (to be written in one update). */
  next: SagaState;
  /** The pending order starts waiting on this step now (waitingSince = now). */
  startsWaitingOn?: string;
  /** The unit prices the stock result fixed, per SKU. */
  unitPrices: { sku: string; unitPriceCents: number }[];
  /** Timeline steps to append, in this order. */
  steps: { step: string; detail: string }[];
  publish: Publication[];
}

const money = (cents: number) => (cents / 100).toFixed(2);

/** The decision for one result, or null when it is a repeat (nothing changes). */
export function applyResult(state: SagaState, result: SagaResult): SagaDecision | null {
  const decision: SagaDecision = { next: { ...state }, unitPrices: [], steps: [], publish: [] };
  const next = decision.next;
  switch (result.kind) {
    case "stockReserved":
      if (state.stockResult) return null;
      next.stockResult = "reserved";
      next.totalCents = result.totalCents;
      decision.unitPrices = result.unitPrices;
      if (state.status === "PENDING") {
        next.waitingOn = "payment";
        decision.startsWaitingOn = "payment";
      }
      decision.steps.push({ step: "stock_reserved", detail: `total ${money(result.totalCents)}` });
      break;
    case "stockRejected":
      if (state.stockResult) return null;
      next.stockResult = "rejected";
      next.cancelReason = result.reason;
      decision.steps.push({ step: "stock_rejected", detail: result.reason });
      break;
    case "paymentSucceeded":
      if (state.paymentResult) return null;
      next.paymentResult = "succeeded";
      next.paymentAmountCents = result.amountCents;
      next.paymentDetail = `charged ${money(result.amountCents)}`;
      break;
    case "paymentFailed":
      if (state.paymentResult) return null;
      next.paymentResult = "failed";
      next.paymentDetail = result.reason;
      break;
  }
  decide(decision);
  return decision;
}

/** The status from what is recorded; a pending order whose results are incomplete waits. */
function decide(decision: SagaDecision): void {
  const order = decision.next;
  if (order.status !== "PENDING") return;
  if (order.stockResult === "rejected") {
    cancel(decision, order.cancelReason ?? "stock rejected", false);
    return;
  }
  if (order.stockResult !== "reserved" || !order.paymentResult) return;
  if (order.paymentResult === "succeeded") {
    decision.steps.push({ step: "payment_succeeded", detail: order.paymentDetail ?? "" });
    order.status = "CONFIRMED";
    stopWaiting(decision);
    decision.steps.push({ step: "confirmed", detail: "" });
    decision.publish.push({ event: "orderConfirmed", totalCents: order.paymentAmountCents ?? 0 });
    return;
  }
  decision.steps.push({ step: "payment_failed", detail: order.paymentDetail ?? "" });
  cancel(decision, `payment declined: ${order.paymentDetail ?? ""}`, true);
}

function cancel(decision: SagaDecision, reason: string, stockWasReserved: boolean): void {
  decision.next.status = "CANCELLED";
  decision.next.cancelReason = reason;
  stopWaiting(decision);
  decision.steps.push({ step: "cancelled", detail: reason });
  decision.publish.push({ event: "orderCancelled", reason, stockWasReserved });
}

function stopWaiting(decision: SagaDecision): void {
  decision.next.waitingOn = null;
  decision.startsWaitingOn = undefined;
}
