/**
 * The payment provider, outside the system. The simulated one behaves like a
 * provider's test mode: "tok_visa" succeeds, "tok_declined" is declined, any
 * other token is declined as unknown. The order id is the provider-side
 * idempotency key, so a retried charge is answered, not repeated.
 */
import { createHash } from "node:crypto";

export interface ChargeRequest {
  /** Sent as the provider's idempotency key. */
  orderId: string;
  paymentToken: string;
  amountCents: number;
}

export type ChargeResult = { outcome: "succeeded"; reference: string } | { outcome: "declined"; reason: string };

export interface PaymentProvider {
  charge(request: ChargeRequest): Promise<ChargeResult>;
}

export function simulatedProvider(): PaymentProvider {
  return {
    async charge({ orderId, paymentToken }) {
      if (paymentToken === "tok_visa") {
        return {
          outcome: "succeeded",
          reference: `sim_${createHash("sha256").update(orderId).digest("hex").slice(0, 16)}`,
        };
      }
      if (paymentToken === "tok_declined") return { outcome: "declined", reason: "card declined" };
      // Not echoed: the reason becomes the order's cancel reason, which reads return.
      return { outcome: "declined", reason: "unknown payment token" };
    },
  };
}
