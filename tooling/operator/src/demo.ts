/**
 * pnpm demo: three orders against a running gateway (GATEWAY_URL, default
 * http://127.0.0.1:8080): one confirmed, one out of stock, one declined, with
 * their timelines. It calls as customer "demo", with a token from the
 * development issuer (ISSUER_URL, default http://127.0.0.1:8090 + PORT_OFFSET),
 * or the bearer token in TOKEN.
 */
import { randomUUID } from "node:crypto";
import { devIssuerUrl, devToken } from "./dev-token.js";

const gateway = process.env.GATEWAY_URL ?? "http://127.0.0.1:8080";
const token = process.env.TOKEN ?? (await devToken(devIssuerUrl(), { sub: "demo" }));
const authorization = `Bearer ${token}`;

interface Order {
  orderId: string;
  status: string;
  cancelReason: string | null;
  totalCents: number | null;
  timeline: { step: string; at: string; detail?: string }[];
}

async function place(label: string, body: object): Promise<void> {
  const res = await fetch(`${gateway}/api/v1/orders`, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": randomUUID(), authorization },
    body: JSON.stringify(body),
  });
  const placed = (await res.json()) as Order;
  if (res.status !== 201) throw new Error(`${label}: ${res.status} ${JSON.stringify(placed)}`);
  let order = placed;
  for (let i = 0; i < 100 && !(order.status !== "PENDING" && order.timeline.some((t) => t.step === "notified")); i++) {
    await new Promise((r) => setTimeout(r, 100));
    order = (await (
      await fetch(`${gateway}/api/v1/orders/${placed.orderId}`, { headers: { authorization } })
    ).json()) as Order;
  }
  const total = order.totalCents === null ? "" : `, total ${(order.totalCents / 100).toFixed(2)}`;
  console.log(
    `\n${label}: order ${order.orderId} is ${order.status}${order.cancelReason ? ` (${order.cancelReason})` : ""}${total}`,
  );
  for (const t of order.timeline) console.log(`  ${t.at}  ${t.step.padEnd(18)} ${t.detail ?? ""}`);
}

const lamp = (await (await fetch(`${gateway}/api/v1/inventory/LT-001`, { headers: { authorization } })).json()) as {
  available: number;
};
await place("1. a keyboard and a mouse, paid by card", {
  customerId: "demo",
  items: [
    { sku: "KB-001", quantity: 1 },
    { sku: "MS-001", quantity: 1 },
  ],
});
await place(`2. ${lamp.available + 1} limited-edition lamps (only ${lamp.available} in stock)`, {
  customerId: "demo",
  items: [{ sku: "LT-001", quantity: lamp.available + 1 }],
});
await place("3. a monitor, with a card that is declined", {
  customerId: "demo",
  items: [{ sku: "MN-001", quantity: 1 }],
  paymentToken: "tok_declined",
});
