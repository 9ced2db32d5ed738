/**
 * POST /api/v1/orders, GET /api/v1/orders/:orderId, GET /api/v1/orders[?customerId=]
 * The JSON schemas are strict: wrong types are not coerced and unknown fields are
 * refused, so a typo in a field name is an error rather than a silent default.
 *
 * The customer is the caller (the token's subject): `customerId`, where given,
 * must be the caller's own (403 otherwise); only an operator lists another
 * customer's orders. Whose order an id names is the order service's to check
 * (it answers NOT_FOUND for another customer's order, exactly as for an
 * unknown id): the caller's token goes along with every call.
 */
import { ORDER_LIMITS } from "@orderflow/contracts";
import type { FastifyInstance } from "fastify";
import { callerOf, forbid } from "../authenticate.js";
import type { OrderClient } from "../order-client.js";
import { orderJson } from "../order-json.js";
import { sendProblem } from "../problem.js";

const L = ORDER_LIMITS;

const secured = { tags: ["orders"], security: [{ bearer: [] }] } as const;

const placeOrderSchema = {
  ...secured,
  summary: "Place an order for the caller (the token's subject)",
  description:
    "201 with the order and Location; the same Idempotency-Key and body again from the same caller: 201 with the same order and Idempotent-Replayed: true; the same key with another body: 422. 400 for bad input (errors[] names each field), 401/400 for missing or bad credentials, 403 when customerId is not the caller's, 503 (Retry-After) when the system is behind or the order service is away, 504 when it did not answer in time: retry with the same key.",
  headers: {
    type: "object",
    required: ["idempotency-key"],
    properties: { "idempotency-key": { type: "string", ...L.idempotencyKey } },
  },
  body: {
    type: "object",
    required: ["items"],
    additionalProperties: false,
    properties: {
      customerId: { type: "string", ...L.customerId },
      items: {
        type: "array",
        ...L.items,
        items: {
          type: "object",
          required: ["sku", "quantity"],
          additionalProperties: false,
          properties: {
            sku: { type: "string", ...L.sku },
            quantity: { type: "integer", ...L.quantity },
          },
        },
      },
      paymentToken: { type: "string", ...L.paymentToken },
    },
  },
} as const;

const listSchema = {
  ...secured,
  summary: "List the caller's orders, newest first",
  description:
    "customerId names another customer's orders: operators only (403 otherwise). limit: 1 to 500 (default 50).",
  querystring: {
    type: "object",
    additionalProperties: false,
    properties: {
      customerId: { type: "string", ...L.customerId },
      limit: { type: "string", pattern: "^[1-9][0-9]{0,2}$" },
    },
  },
} as const;

interface PlaceOrderBody {
  customerId?: string;
  items: { sku: string; quantity: number }[];
  paymentToken?: string;
}

export interface OrderRouteOptions {
  /**
   * PlaceOrder calls waiting on the order service at most; one more is refused
   * at once (503, Retry-After) instead of queueing until its deadline: the
   * edge's half of admission control (the order service's half counts the
   * pending orders).
   */
  maxInFlightPlacements?: number;
}

export function orderRoutes(app: FastifyInstance, orders: OrderClient, options: OrderRouteOptions = {}) {
  const maxInFlight = options.maxInFlightPlacements ?? Number.POSITIVE_INFINITY;
  let inFlight = 0;
  app.post<{ Body: PlaceOrderBody; Headers: { "idempotency-key": string } }>(
    "/api/v1/orders",
    { schema: placeOrderSchema },
    async (request, reply) => {
      const { caller, bearer } = callerOf(request);
      const customerId = request.body.customerId ?? caller.subject;
      if (customerId !== caller.subject) {
        return forbid(reply, "customerId must be the caller's own (the token's subject), or left out");
      }
      if (inFlight >= maxInFlight) {
        return sendProblem(reply.header("Retry-After", "1"), {
          type: "/problems/system-busy",
          title:
            "The system is behind and placed nothing; retry after Retry-After seconds with the same Idempotency-Key",
          status: 503,
          detail: `${inFlight} orders are being placed already (GATEWAY_MAX_IN_FLIGHT_PLACEMENTS ${maxInFlight})`,
        });
      }
      inFlight++;
      const { order, replayed } = await orders
        .placeOrder(
          {
            idempotencyKey: request.headers["idempotency-key"],
            customerId,
            items: request.body.items,
            paymentToken: request.body.paymentToken ?? "",
          },
          bearer,
        )
        .finally(() => {
          inFlight--;
        });
      if (!order) throw new Error("PlaceOrder answered without an order");
      // A replay answers exactly as the first call did, so a client retrying
      // after a lost response cannot tell the difference (and need not).
      return reply
        .code(201)
        .header("Location", `/api/v1/orders/${order.orderId}`)
        .header("Idempotent-Replayed", String(replayed))
        .send(orderJson(order));
    },
  );

  const getSchema = {
    ...secured,
    summary: "One order, with its timeline and, while pending, what it waits on",
    description: "404 for an unknown id and, with the same body, for another customer's order (operators read any).",
    params: { type: "object", properties: { orderId: { type: "string" } }, required: ["orderId"] },
  } as const;
  app.get<{ Params: { orderId: string } }>("/api/v1/orders/:orderId", { schema: getSchema }, async (request) =>
    orderJson(await orders.getOrder({ orderId: request.params.orderId }, callerOf(request).bearer)),
  );

  app.get<{ Querystring: { customerId?: string; limit?: string } }>(
    "/api/v1/orders",
    { schema: listSchema },
    async (request, reply) => {
      const { caller, bearer } = callerOf(request);
      const customerId = request.query.customerId ?? caller.subject;
      if (customerId !== caller.subject && !caller.operator) {
        return forbid(reply, "only an operator may list another customer's orders");
      }
      const limit = Number(request.query.limit ?? 0);
      // The order service's own bound, checked here too: a bad limit is a 400 at once, not a round trip.
      if (limit > L.listLimit.maximum) {
        const message = `must be at most ${L.listLimit.maximum}`;
        return sendProblem(reply, {
          type: "/problems/invalid-request",
          title: "Invalid request",
          status: 400,
          detail: `query.limit ${message}`,
          errors: [{ field: "query.limit", message }],
        });
      }
      const list = await orders.listOrders({ customerId, limit }, bearer);
      return { orders: list.map((o) => orderJson(o)) };
    },
  );
}
