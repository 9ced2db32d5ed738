/**
 * The clients of a chaos run: well-behaved, as docs/api.md asks of a client.
 * Each logical order has its own Idempotency-Key and customer id, and is
 * POSTed until it gets an answer: a network error, a 5xx or a 429 means
 * "retry the same request with the same key", after a growing, jittered delay.
 * A 201 is an acceptance the system must honour; a 4xx is final.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { backoffDelayMs } from "@orderflow/backoff";
import { authHeaders } from "@orderflow/stack";

export interface ClientOrder {
  key: string;
  customerId: string;
  body: { customerId: string; items: { sku: string; quantity: number }[]; paymentToken: string };
}

export interface ClientResult {
  order: ClientOrder;
  /** 201 with this order id, or undefined when no 201 came within the budget. */
  orderId?: string;
  /** The final HTTP status (0 when the last attempt got no answer). */
  status: number;
  attempts: number;
}

/** A mix that exercises every path of the saga: mostly confirmed, some declined, some out of stock. */
export function makeOrder(runId: string, n: number, random: () => number = Math.random): ClientOrder {
  const customerId = `chaos-${runId}-${n}`;
  const r = random();
  const items =
    r < 0.05
      ? [{ sku: "LT-001", quantity: 2 }] // scarce: most are rejected for stock
      : r < 0.08
        ? [{ sku: "NOPE-001", quantity: 1 }] // unknown SKU: rejected for stock
        : [
            { sku: "KB-001", quantity: 1 + Math.floor(random() * 2) },
            ...(random() < 0.5 ? [{ sku: "CB-001", quantity: 1 + Math.floor(random() * 3) }] : []),
          ];
  const paymentToken = random() < 0.1 ? "tok_declined" : "tok_visa";
  return { key: randomUUID(), customerId, body: { customerId, items, paymentToken } };
}

export async function placeUntilAnswered(
  gatewayUrl: () => string,
  order: ClientOrder,
  { budgetMs = 180_000, attemptTimeoutMs = 10_000 } = {},
): Promise<ClientResult> {
  const deadline = Date.now() + budgetMs;
  let status = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`${gatewayUrl()}/api/v1/orders`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "idempotency-key": order.key,
          ...(await authHeaders(gatewayUrl(), order.customerId)),
        },
        body: JSON.stringify(order.body),
        signal: AbortSignal.timeout(attemptTimeoutMs),
      });
      status = res.status;
      const body = (await res.json().catch(() => ({}))) as { orderId?: string };
      if (status === 201) return { order, orderId: body.orderId, status, attempts: attempt };
      if (status < 500 && status !== 429) return { order, status, attempts: attempt };
    } catch {
      status = 0; // no answer: the gateway is down or restarting
    }
    const delay = backoffDelayMs(attempt, { baseMs: 200, maxMs: 3000, jitter: "full" });
    if (Date.now() + delay > deadline) return { order, status, attempts: attempt };
    await sleep(delay);
  }
}
