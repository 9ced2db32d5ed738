import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import {
  addGrpcService,
  createGrpcClient,
  type GrpcClient,
  isGrpcError,
  OrderService,
  OrderStatus,
  type ServiceMethods,
  toGrpcServiceDefinition,
} from "../src/index.js";

describe("toGrpcServiceDefinition", () => {
  it("when built from OrderService, then every method has its path, kind and local name", () => {
    const def = toGrpcServiceDefinition(OrderService);
    assert.deepEqual(Object.keys(def).sort(), ["getOrder", "listOrders", "placeOrder", "watchOrder"]);
    assert.equal(def.placeOrder?.path, "/orderflow.order.v1.OrderService/PlaceOrder");
    assert.equal(def.placeOrder?.responseStream, false);
    assert.equal(def.listOrders?.responseStream, true);
    assert.equal(def.watchOrder?.requestStream, false);
  });
});

describe("grpc-js client and server through the adapter", () => {
  const server = new grpc.Server();
  let client: GrpcClient<ServiceMethods<typeof OrderService>>;

  before(async () => {
    addGrpcService(server, OrderService, {
      placeOrder: (call, callback) => {
        const correlation = call.metadata.get("x-correlation-id")[0]?.toString() ?? "";
        if (call.request.customerId === "slow") {
          setTimeout(() => callback(null, { order: { orderId: "late" } } as never), 500);
          return;
        }
        if (call.request.customerId === "bad") {
          callback({ code: grpc.status.INVALID_ARGUMENT, details: "customerId: is bad" });
          return;
        }
        callback(null, {
          order: {
            orderId: `order-for-${call.request.customerId}`,
            customerId: correlation,
            status: OrderStatus.PENDING,
            items: call.request.items,
            totalCents: 12345678901234n,
          },
          replayed: true,
        } as never);
      },
      getOrder: (_call, callback) => callback({ code: grpc.status.NOT_FOUND, details: "no such order" }),
      listOrders: (call) => {
        for (let i = 0; i < 3; i++) call.write({ orderId: `o-${i}`, customerId: call.request.customerId } as never);
        call.end();
      },
      watchOrder: async (call) => {
        call.write({ orderId: call.request.orderId, status: OrderStatus.PENDING } as never);
        await sleep(10);
        call.write({ orderId: call.request.orderId, status: OrderStatus.CONFIRMED } as never);
        call.end();
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    client = createGrpcClient(OrderService, `127.0.0.1:${port}`);
  });

  after(() => {
    client.close();
    server.forceShutdown();
  });

  it("when a unary call succeeds, then the message, int64 fields and metadata survive the round trip", async () => {
    const metadata = new grpc.Metadata();
    metadata.set("x-correlation-id", "corr-42");
    const res = await client.placeOrder(
      { idempotencyKey: "k", customerId: "c1", items: [{ sku: "A", quantity: 3 }] },
      { metadata, deadline: new Date(Date.now() + 2000) },
    );
    assert.equal(res.order?.orderId, "order-for-c1");
    assert.equal(res.order?.customerId, "corr-42");
    assert.equal(res.order?.items[0]?.quantity, 3);
    assert.equal(res.order?.totalCents, 12345678901234n);
    assert.equal(res.replayed, true);
  });

  it("when the server answers with a status, then the client sees its code and details", async () => {
    await assert.rejects(client.placeOrder({ customerId: "bad" }), (err) => {
      assert.ok(isGrpcError(err));
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
      assert.equal(err.details, "customerId: is bad");
      return true;
    });
    await assert.rejects(client.getOrder({ orderId: "x" }), { code: grpc.status.NOT_FOUND });
  });

  it("when the server is slower than the deadline, then the call fails with DEADLINE_EXCEEDED", async () => {
    const started = Date.now();
    await assert.rejects(client.placeOrder({ customerId: "slow" }, { deadline: new Date(Date.now() + 100) }), {
      code: grpc.status.DEADLINE_EXCEEDED,
    });
    assert.ok(Date.now() - started < 450, "the caller did not wait for the slow reply");
  });

  it("when a server-streaming call runs, then the client iterates every message in order", async () => {
    const ids: string[] = [];
    for await (const order of client.listOrders({ customerId: "c9" })) ids.push(`${order.orderId}/${order.customerId}`);
    assert.deepEqual(ids, ["o-0/c9", "o-1/c9", "o-2/c9"]);
    const statuses: OrderStatus[] = [];
    for await (const order of client.watchOrder({ orderId: "w" })) statuses.push(order.status);
    assert.deepEqual(statuses, [OrderStatus.PENDING, OrderStatus.CONFIRMED]);
  });
});
