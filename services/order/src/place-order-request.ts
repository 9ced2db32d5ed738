/**
 * What a valid PlaceOrder request is: the order service's own validation (the
 * gateway checks the same limits, ORDER_LIMITS, at the edge). Each refusal
 * names its field (InvalidArgumentError -> INVALID_ARGUMENT + BadRequest).
 */
import { DEFAULT_PAYMENT_TOKEN, ORDER_LIMITS } from "@orderflow/contracts";
import { InvalidArgumentError } from "./errors.js";

/** A PlaceOrder request as the transport hands it over. */
export interface PlaceOrderInput {
  idempotencyKey: string;
  customerId: string;
  items: { sku: string; quantity: number }[];
  paymentToken?: string;
}

export type ValidRequest = Required<PlaceOrderInput>;

/** The order service's own validation; the gateway checks the same limits at the edge. */
export function validatePlaceOrder(input: PlaceOrderInput): ValidRequest {
  const L = ORDER_LIMITS;
  checkString("idempotencyKey", input.idempotencyKey, L.idempotencyKey);
  checkString("customerId", input.customerId, L.customerId);
  if (input.items.length < L.items.minItems) throw new InvalidArgumentError("items", "must name at least one item");
  if (input.items.length > L.items.maxItems) {
    throw new InvalidArgumentError("items", `must name at most ${L.items.maxItems} items`);
  }
  const seen = new Map<string, number>();
  input.items.forEach((item, i) => {
    checkString(`items[${i}].sku`, item.sku, L.sku);
    const q = item.quantity;
    if (!Number.isInteger(q) || q < L.quantity.minimum || q > L.quantity.maximum) {
      throw new InvalidArgumentError(
        `items[${i}].quantity`,
        `must be a whole number from ${L.quantity.minimum} to ${L.quantity.maximum}`,
      );
    }
    const earlier = seen.get(item.sku);
    if (earlier !== undefined) {
      throw new InvalidArgumentError(`items[${i}].sku`, `repeats items[${earlier}].sku; give one line per SKU`);
    }
    seen.set(item.sku, i);
  });
  const paymentToken = input.paymentToken || DEFAULT_PAYMENT_TOKEN;
  checkString("paymentToken", paymentToken, L.paymentToken);
  return {
    idempotencyKey: input.idempotencyKey,
    customerId: input.customerId,
    items: input.items.map(({ sku, quantity }) => ({ sku, quantity })),
    paymentToken,
  };
}

export function checkString(
  field: string,
  value: string,
  limit: { minLength: number; maxLength: number; pattern: string },
) {
  if (value.length < limit.minLength) throw new InvalidArgumentError(field, "is required");
  if (value.length > limit.maxLength)
    throw new InvalidArgumentError(field, `must be at most ${limit.maxLength} characters`);
  if (!new RegExp(limit.pattern).test(value)) {
    throw new InvalidArgumentError(field, `must match ${limit.pattern}`);
  }
}
