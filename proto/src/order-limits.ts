/**
 * Input limits of PlaceOrder, shared by the gateway's JSON schema (the edge) and
 * the order service's own validation (a gRPC API is an API too).
 */
export const ORDER_LIMITS = {
  idempotencyKey: { minLength: 1, maxLength: 255, pattern: "^[\\x21-\\x7E]+$" },
  customerId: { minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9._:@-]+$" },
  sku: { minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9._-]+$" },
  quantity: { minimum: 1, maximum: 1000 },
  items: { minItems: 1, maxItems: 50 },
  paymentToken: { minLength: 1, maxLength: 64, pattern: "^tok_[a-z0-9_]+$" },
  /** ListOrders: how many orders at most (0 or absent: the default). */
  listLimit: { default: 50, maximum: 500 },
} as const;

export const DEFAULT_PAYMENT_TOKEN = "tok_visa";
