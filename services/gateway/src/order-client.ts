/**
 * The gateway's side of OrderService: every call carries the correlation id in
 * metadata and runs under the retry policy (call-with-retry.ts), each attempt
 * with its own deadline.
 */

import type { MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import type { GetOrderRequestSchema, ListOrdersRequestSchema, PlaceOrderRequestSchema } from "@orderflow/contracts";
import {
  AUTHORIZATION_METADATA_KEY,
  CORRELATION_METADATA_KEY,
  createGrpcClient,
  type GetOrderRequest,
  type ListOrdersRequest,
  type Order,
  OrderService,
  type PlaceOrderRequest,
  type PlaceOrderResponse,
} from "@orderflow/contracts";
import { currentCorrelation, type Logger } from "@orderflow/logging";
import { Counter, type Registry } from "prom-client";
import { callWithRetry, RETRYABLE_CODES, type RetryPolicy } from "./call-with-retry.js";

/**
 * Each call carries the caller's bearer token (the `authorization` metadata):
 * the order service checks who calls itself.
 */
export interface OrderClient {
  placeOrder(request: MessageInitShape<typeof PlaceOrderRequestSchema>, bearer: string): Promise<PlaceOrderResponse>;
  getOrder(request: MessageInitShape<typeof GetOrderRequestSchema>, bearer: string): Promise<Order>;
  listOrders(request: MessageInitShape<typeof ListOrdersRequestSchema>, bearer: string): Promise<Order[]>;
  close(): void;
  /** Resolves when the channel reaches an order service within `timeoutMs` (a readiness check). */
  ready(timeoutMs: number): Promise<void>;
}

/**
 * Counts the attempts that failed and were retried, by method and status. A
 * rise of DEADLINE_EXCEEDED retries on PlaceOrder means acks slower than the
 * deadline: each one was a possible duplicate order, absorbed by the key.
 */
export function orderRpcRetries(registry: Registry): Counter {
  const counter = new Counter({
    name: "gateway_order_rpc_retries_total",
    help: "Order service calls retried by the gateway, by method and the status that caused the retry",
    labelNames: ["method", "code"],
    registers: [registry],
  });
  // Every series exists from the start, at 0, so that increase() sees the first retry.
  for (const method of ["PlaceOrder", "GetOrder", "ListOrders"]) {
    for (const code of RETRYABLE_CODES) counter.inc({ method, code: grpc.status[code] }, 0);
  }
  return counter;
}

/**
 * The gRPC target for ORDER_GRPC_ADDRESS. Several order replicas: a
 * comma-separated list of IPv4 host:port ("ipv4:" target), or one DNS name
 * that resolves to each replica (e.g. a Kubernetes headless service); the
 * channel balances calls round-robin over them, and a replica that dies drops
 * out of the rotation (its in-flight calls fail UNAVAILABLE and are retried).
 */
export function orderTarget(addresses: string): string {
  const list = addresses
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  if (list.length <= 1) return list[0] ?? "";
  const invalid = list.find((a) => !/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(a));
  if (invalid) {
    throw new Error(
      `ORDER_GRPC_ADDRESS: a list must be IPv4 host:port addresses (${JSON.stringify(invalid)} is not); for host names, give one DNS name that resolves to every replica`,
    );
  }
  return `ipv4:${list.join(",")}`;
}

export function createOrderClient(
  address: string,
  policy: RetryPolicy,
  logger: Logger,
  retries?: Counter,
): OrderClient {
  const client = createGrpcClient(OrderService, orderTarget(address), grpc.credentials.createInsecure(), {
    // Reconnect quickly once the order service is back (grpc-js defaults to 1 s growing to 120 s).
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 1000,
    // Client-side load balancing over every address the target resolves to.
    "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
  });
  const metadata = (bearer: string) => {
    const m = new grpc.Metadata();
    m.set(AUTHORIZATION_METADATA_KEY, `Bearer ${bearer}`);
    const correlationId = currentCorrelation()?.correlationId;
    if (correlationId) m.set(CORRELATION_METADATA_KEY, correlationId);
    return m;
  };
  const retry = <T>(method: string, fn: (deadline: Date) => Promise<T>) =>
    callWithRetry(
      (attempt) => fn(attempt.deadline),
      policy,
      (info) => {
        retries?.inc({ method, code: grpc.status[info.code] });
        logger.warn({ method, ...info, code: grpc.status[info.code] }, "order service call failed; retrying");
      },
    );
  return {
    ready: (timeoutMs) =>
      new Promise<void>((resolve, reject) =>
        client.raw.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve())),
      ),
    placeOrder: (request: PlaceOrderRequest | MessageInitShape<typeof PlaceOrderRequestSchema>, bearer) =>
      retry("PlaceOrder", (deadline) => client.placeOrder(request, { deadline, metadata: metadata(bearer) })),
    getOrder: (request: GetOrderRequest | MessageInitShape<typeof GetOrderRequestSchema>, bearer) =>
      retry("GetOrder", (deadline) => client.getOrder(request, { deadline, metadata: metadata(bearer) })),
    listOrders: (request: ListOrdersRequest | MessageInitShape<typeof ListOrdersRequestSchema>, bearer) =>
      // A read: a retry starts the stream again from the beginning.
      retry("ListOrders", async (deadline) => {
        const orders: Order[] = [];
        for await (const order of client.listOrders(request, { deadline, metadata: metadata(bearer) }))
          orders.push(order);
        return orders;
      }),
    close: () => client.close(),
  };
}
