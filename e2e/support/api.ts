/** What an HTTP client of the system does in the scenarios: plain fetch against the gateway. */
import { randomUUID } from "node:crypto";

export interface OrderRequest {
  customerId: string;
  items: { sku: string; quantity: number }[];
  paymentToken?: string;
}

export async function postOrder(gatewayUrl: string, body: OrderRequest, key: string = randomUUID()) {
  const res = await fetch(`${gatewayUrl}/api/v1/orders`, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": key },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

export async function getOrder(gatewayUrl: string, orderId: string) {
  const res = await fetch(`${gatewayUrl}/api/v1/orders/${orderId}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
