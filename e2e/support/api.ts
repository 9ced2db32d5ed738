/**
 * What an HTTP client of the system does in the scenarios: plain fetch against
 * the gateway, with a bearer token from the issuer that system trusts. An order
 * is placed by its customer (a token whose subject is `customerId`); the
 * scenarios then watch it as an operator does (the operator scope reads every
 * order). Who may read what is e2e/auth.test.ts's subject.
 */
import { randomUUID } from "node:crypto";
import { authHeaders } from "@orderflow/stack";

export { authHeaders };

export interface OrderRequest {
  customerId: string;
  items: { sku: string; quantity: number }[];
  paymentToken?: string;
}

export async function postOrder(gatewayUrl: string, body: OrderRequest, key: string = randomUUID()) {
  const res = await fetch(`${gatewayUrl}/api/v1/orders`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "idempotency-key": key,
      ...(await authHeaders(gatewayUrl, body.customerId)),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

export async function getOrder(gatewayUrl: string, orderId: string) {
  const res = await fetch(`${gatewayUrl}/api/v1/orders/${orderId}`, { headers: await authHeaders(gatewayUrl) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export type OrderJson = {
  orderId: string;
  status: string;
  cancelReason: string | null;
  totalCents: number | null;
  timeline: { step: string; at: string; detail?: string }[];
  waitingOn: string | null;
  waitingForMs: number | null;
  stalled: boolean;
};

/** Polls GET /api/v1/orders/{id} until `done` holds, as a client would. */
export async function waitForOrder(
  gatewayUrl: string,
  orderId: string,
  done: (order: OrderJson) => boolean,
  timeoutMs = 20_000,
): Promise<OrderJson> {
  const deadline = Date.now() + timeoutMs;
  let last: OrderJson | undefined;
  const headers = await authHeaders(gatewayUrl);
  while (Date.now() < deadline) {
    const res = await fetch(`${gatewayUrl}/api/v1/orders/${orderId}`, { headers }).catch(() => undefined);
    if (res?.ok) {
      last = (await res.json()) as OrderJson;
      if (done(last)) return last;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`order ${orderId} did not get there in ${timeoutMs} ms; last seen: ${JSON.stringify(last)}`);
}

export const steps = (order: OrderJson) => order.timeline.map((t) => t.step);
export const notified = (order: OrderJson) => steps(order).includes("notified");

export async function getStock(gatewayUrl: string, sku: string) {
  const res = await fetch(`${gatewayUrl}/api/v1/inventory/${sku}`, { headers: await authHeaders(gatewayUrl) });
  return (await res.json()) as { sku: string; available: number; reserved: number };
}
