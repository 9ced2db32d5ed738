/**
 * OrderService over gRPC: the server half of caller-owned completion. The
 * caller owns the deadline and the retries; this side honours the deadline
 * (no work starts once it has passed), never places an order twice for one
 * idempotency key, and answers with a status the caller can decide on:
 * INVALID_ARGUMENT and ALREADY_EXISTS are final, UNAVAILABLE and
 * DEADLINE_EXCEEDED may be retried with the same key.
 *
 * It trusts no network: every call carries the caller's bearer token in its
 * metadata and is verified here (packages/auth), whoever sends it. The
 * customer is the token's subject: PlaceOrder places for the caller only,
 * another customer's order is NOT_FOUND (as an unknown id: no existence
 * oracle), another customer's list is PERMISSION_DENIED; an operator (the
 * operator scope) may read every order.
 */

import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { trace } from "@opentelemetry/api";
import { AuthError, AuthUnavailableError, bearerToken, type Caller, type Verifier } from "@orderflow/auth";
import {
  AUTHORIZATION_METADATA_KEY,
  badRequestMetadata,
  CORRELATION_METADATA_KEY,
  type GrpcServiceImplementation,
  ORDER_ID_SPAN_ATTRIBUTE,
  type OrderService,
  OrderStatus,
  PlaceOrderResponseSchema,
  RETRY_AFTER_METADATA_KEY,
  type ServiceMethods,
} from "@orderflow/contracts";
import { isConnectionError } from "@orderflow/db";
import { acceptCorrelationId, type Logger, withCorrelation } from "@orderflow/logging";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import { type Admission, BackloggedError } from "./admission.js";
import type { OrderConfig } from "./config.js";
import { IdempotencyConflictError, InvalidArgumentError, NotFoundError } from "./errors.js";
import type { OrderMetrics } from "./metrics.js";
import { toProtoOrder } from "./order-proto.js";
import type { OrderView } from "./order-view.js";
import { placeOrder } from "./place-order.js";
import { getOrder, listOrders, notFoundMessage } from "./read-orders.js";

export interface OrderServiceDeps {
  db: NodePgDatabase;
  logger: Logger;
  metrics: OrderMetrics;
  config: Pick<OrderConfig, "stalledAfterMs" | "faults">;
  /** How often WatchOrder looks for a change. */
  watchIntervalMs?: number;
  /** Refuses new orders while the system is behind (admission.ts); none: every order is admitted. */
  admission?: Admission;
  /** Verifies the caller's bearer token of every call. */
  verifier: Verifier;
}

type Impl = GrpcServiceImplementation<ServiceMethods<typeof OrderService>>;

export function orderServiceHandlers(deps: OrderServiceDeps): Impl {
  const { db, logger, metrics, config } = deps;
  const faults = config.faults;
  let slowAcksLeft = faults.FAULT_ORDER_SLOW_ACK_COUNT ?? Number.POSITIVE_INFINITY;
  const hideWaiting = faults.UNSAFE_ORDER_NO_WAITING_STATUS ?? false;
  const view = (o: OrderView) => toProtoOrder(o, new Date(), config.stalledAfterMs, hideWaiting);
  const callerOf = (call: { metadata: grpc.Metadata }) => authenticate(deps.verifier, call.metadata);
  /** The order if the caller may see it; another customer's is "not found", word for word. */
  const readableOrder = async (caller: Caller, orderId: string) => {
    const order = await getOrder(db, orderId);
    if (order.customerId !== caller.subject && !caller.operator) throw new NotFoundError(notFoundMessage(orderId));
    return order;
  };

  return {
    placeOrder: (call, callback) =>
      inCallContext(call, async () => {
        if (deadlinePassed(call)) throw deadlineExceeded();
        const caller = await callerOf(call);
        const request = call.request;
        if (request.customerId && request.customerId !== caller.subject) {
          throw new StatusError(
            grpc.status.PERMISSION_DENIED,
            "customer_id must be the caller's own (the token's subject)",
          );
        }
        let placed: (() => void) | undefined;
        try {
          placed = deps.admission?.admit();
        } catch (err) {
          if (err instanceof BackloggedError) metrics.ordersRefused.inc();
          throw err;
        }
        const started = performance.now();
        const result = await placeOrder(
          { db, ignoreIdempotencyKey: faults.UNSAFE_ORDER_IGNORE_IDEMPOTENCY_KEY },
          caller,
          {
            idempotencyKey: request.idempotencyKey,
            customerId: caller.subject,
            items: request.items.map((i) => ({ sku: i.sku, quantity: i.quantity })),
            paymentToken: request.paymentToken,
          },
        ).finally(() => placed?.());
        metrics.ordersPlaced.inc({ outcome: result.replayed ? "replayed" : "placed" });
        // The order's trace can be found by its id (the console's waterfall): every later span of
        // the order continues this trace through the outbox and the streams.
        trace.getActiveSpan()?.setAttribute(ORDER_ID_SPAN_ATTRIBUTE, result.orderId);
        logger.info(
          { orderId: result.orderId, replayed: result.replayed, ms: Math.round(performance.now() - started) },
          result.replayed ? "order already placed under this idempotency key" : "order placed",
        );
        if (faults.FAULT_ORDER_SLOW_ACK_MS && slowAcksLeft > 0) {
          slowAcksLeft -= 1;
          logger.warn({ delayMs: faults.FAULT_ORDER_SLOW_ACK_MS }, "FAULT_ORDER_SLOW_ACK_MS: committed, replying late");
          await sleep(faults.FAULT_ORDER_SLOW_ACK_MS);
        }
        return create(PlaceOrderResponseSchema, {
          // A new order is returned as written; a replayed one is read as it is now.
          order: view(result.placed ?? (await getOrder(db, result.orderId))),
          replayed: result.replayed,
        });
      }).then(
        (res) => callback(null, res),
        (err) => callback(toStatus(err, logger)),
      ),

    getOrder: (call, callback) =>
      inCallContext(call, async () => view(await readableOrder(await callerOf(call), call.request.orderId))).then(
        (res) => callback(null, res),
        (err) => callback(toStatus(err, logger)),
      ),

    listOrders: (call) =>
      inCallContext(call, async () => {
        const caller = await callerOf(call);
        const { allCustomers, limit, status } = call.request;
        if (allCustomers && call.request.customerId) {
          throw new InvalidArgumentError("allCustomers", "cannot be combined with customerId");
        }
        const customerId = allCustomers ? undefined : call.request.customerId || caller.subject;
        if (customerId !== caller.subject && !caller.operator) {
          throw new StatusError(grpc.status.PERMISSION_DENIED, "only an operator may list another customer's orders");
        }
        for (const order of await listOrders(db, customerId, limit, statusName(status))) {
          if (call.cancelled) return;
          call.write(view(order));
        }
        call.end();
      }).catch((err) => failStream(call, toStatus(err, logger))),

    watchOrder: (call) =>
      inCallContext(call, async () => {
        const caller = await callerOf(call);
        let last = "";
        while (!call.cancelled) {
          const order = await readableOrder(caller, call.request.orderId);
          const version = `${order.status}:${order.timeline.length}:${order.updatedAt.getTime()}`;
          if (version !== last) {
            last = version;
            call.write(view(order));
          }
          if (order.status !== "PENDING") break;
          await sleep(deps.watchIntervalMs ?? 250);
        }
        call.end();
      }).catch((err) => failStream(call, toStatus(err, logger))),
  };
}

/**
 * Runs a call in its correlation context, and echoes the correlation id in the
 * response metadata (as the HTTP gateway echoes X-Correlation-ID).
 */
function inCallContext<T>(
  call: { metadata: grpc.Metadata; sendMetadata(md: grpc.Metadata): void },
  fn: () => Promise<T>,
): Promise<T> {
  const correlationId = acceptCorrelationId(call.metadata.get(CORRELATION_METADATA_KEY)[0]?.toString());
  const echo = new grpc.Metadata();
  echo.set(CORRELATION_METADATA_KEY, correlationId);
  call.sendMetadata(echo);
  return withCorrelation({ correlationId }, fn);
}

/**
 * Ends a server stream with its status. grpc-js 1.14 never sends the status
 * given to call.destroy(): the client would wait for its deadline. Emitting
 * 'error' sends it at once.
 */
function failStream(call: grpc.ServerWritableStream<unknown, unknown>, status: Partial<grpc.StatusObject>): void {
  call.emit("error", status);
}

function deadlinePassed(call: grpc.ServerUnaryCall<unknown, unknown>): boolean {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) && at <= Date.now();
}

/** A status filter of ListOrders as the view names it (UNSPECIFIED: none). */
function statusName(status: OrderStatus): OrderView["status"] | undefined {
  if (status === OrderStatus.UNSPECIFIED) return undefined;
  const name = OrderStatus[status] as OrderView["status"] | undefined;
  if (!name) throw new InvalidArgumentError("status", "is not a known order status");
  return name;
}

/** The caller a call's metadata names, verified; UNAUTHENTICATED (or UNAVAILABLE) otherwise. */
async function authenticate(verifier: Verifier, metadata: grpc.Metadata): Promise<Caller> {
  try {
    const token = bearerToken({
      authorization: metadata.get(AUTHORIZATION_METADATA_KEY).map((v) => v.toString()),
      tokenInQuery: false,
    });
    return await verifier.verify(token);
  } catch (err) {
    if (err instanceof AuthError) throw new StatusError(grpc.status.UNAUTHENTICATED, err.message);
    if (err instanceof AuthUnavailableError) throw new StatusError(grpc.status.UNAVAILABLE, err.message);
    throw err;
  }
}

class StatusError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

function deadlineExceeded() {
  return new StatusError(grpc.status.DEADLINE_EXCEEDED, "the caller's deadline passed before the work started");
}

/** Maps a use-case error to the status the caller decides on. */
export function toStatus(err: unknown, logger: Logger): Partial<grpc.StatusObject> {
  if (err instanceof StatusError) return { code: err.code, details: err.message };
  if (err instanceof InvalidArgumentError) {
    // The message for people, and the field violation for programs (AIP-193).
    return {
      code: grpc.status.INVALID_ARGUMENT,
      details: err.message,
      metadata: badRequestMetadata(err.message, [{ field: err.protoField, description: err.description }]),
    };
  }
  if (err instanceof NotFoundError) return { code: grpc.status.NOT_FOUND, details: err.message };
  if (err instanceof IdempotencyConflictError) return { code: grpc.status.ALREADY_EXISTS, details: err.message };
  if (err instanceof BackloggedError) {
    // Nothing was done; the caller should come back later (the gateway: 503 with Retry-After).
    const metadata = new grpc.Metadata();
    metadata.set(RETRY_AFTER_METADATA_KEY, String(err.retryAfterS));
    return { code: grpc.status.RESOURCE_EXHAUSTED, details: err.message, metadata };
  }
  if (isConnectionError(err)) {
    // The database is away: nothing was committed, or the commit's outcome is
    // the idempotency key's to tell. The caller may retry with the same key.
    logger.warn({ err: (err as Error).message }, "database unavailable");
    return { code: grpc.status.UNAVAILABLE, details: "the order database is unavailable; retry with the same key" };
  }
  logger.error({ err }, "request failed");
  return { code: grpc.status.INTERNAL, details: "internal error" };
}
