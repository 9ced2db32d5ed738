import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { createLogger } from "@orderflow/logging";
import { REPO_ROOT } from "@orderflow/testing";
import { Registry } from "prom-client";
import { buildApp } from "../src/app.js";
import { createOrderMetrics } from "../src/metrics.js";
import { orderDatabase } from "./order-database.js";

/**
 * OrderService on the wire, driven by an independent client: @grpc/proto-loader
 * loads the .proto files at run time, without the project's adapter, so the
 * contract is checked as any other gRPC client sees it. Every error path ends
 * with its status within a second, streams included.
 */
describe("OrderService on the wire (an independent client, real Postgres)", () => {
  let t: Awaited<ReturnType<typeof orderDatabase>>;
  let server: grpc.Server;
  // biome-ignore lint/suspicious/noExplicitAny: a dynamically loaded client has no static type
  let client: any;

  before(async () => {
    t = await orderDatabase();
    const logger = createLogger({ service: "order-test", level: "silent" });
    const metrics = createOrderMetrics(new Registry(), t.pool, 30_000, { waitingStatus: true });
    server = buildApp({ db: t.db, logger, metrics, config: { stalledAfterMs: 30_000, faults: {} } }).grpcServer;
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const definition = protoLoader.loadSync(join(REPO_ROOT, "proto/orderflow/order/v1/order_service.proto"), {
      includeDirs: [join(REPO_ROOT, "proto")],
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
    });
    // biome-ignore lint/suspicious/noExplicitAny: see above
    const pkg = grpc.loadPackageDefinition(definition) as any;
    client = new pkg.orderflow.order.v1.OrderService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });
  after(async () => {
    client?.close();
    server?.forceShutdown();
    await t?.close();
  });

  const deadline = () => new Date(Date.now() + 10_000);

  function unary(method: string, request: object, metadata = new grpc.Metadata()) {
    return new Promise<{ err: grpc.ServiceError | null; res: unknown; ms: number; md?: grpc.Metadata }>((resolve) => {
      const started = Date.now();
      let md: grpc.Metadata | undefined;
      const call = client[method](
        request,
        metadata,
        { deadline: deadline() },
        (err: grpc.ServiceError | null, res: unknown) => resolve({ err, res, ms: Date.now() - started, md }),
      );
      call.on("metadata", (m: grpc.Metadata) => {
        md = m;
      });
    });
  }

  function stream(method: string, request: object) {
    return new Promise<{ items: unknown[]; err?: grpc.ServiceError; ms: number }>((resolve) => {
      const started = Date.now();
      const items: unknown[] = [];
      const call = client[method](request, new grpc.Metadata(), { deadline: deadline() });
      call.on("data", (d: unknown) => items.push(d));
      call.on("error", (err: grpc.ServiceError) => resolve({ items, err, ms: Date.now() - started }));
      call.on("end", () => resolve({ items, ms: Date.now() - started }));
    });
  }

  it("when an order is placed and read back, then it is there, and the correlation id is echoed", async () => {
    const md = new grpc.Metadata();
    md.set("x-correlation-id", "wire-corr-1");
    const placed = await unary(
      "PlaceOrder",
      { idempotency_key: randomUUID(), customer_id: "wire-1", items: [{ sku: "KB-001", quantity: 1 }] },
      md,
    );
    assert.equal(placed.err, null);
    assert.equal(placed.md?.get("x-correlation-id")[0], "wire-corr-1");
    const orderId = (placed.res as { order: { order_id: string } }).order.order_id;
    const got = await unary("GetOrder", { order_id: orderId });
    assert.equal((got.res as { status: string }).status, "ORDER_STATUS_PENDING");
    const listed = await stream("ListOrders", { customer_id: "wire-1" });
    assert.equal(listed.err, undefined);
    assert.equal(listed.items.length, 1);
  });

  const cases: Array<{
    name: string;
    run: () => Promise<{ err?: grpc.ServiceError | null; ms: number }>;
    code: grpc.status;
  }> = [
    {
      name: "GetOrder of a malformed id",
      run: () => unary("GetOrder", { order_id: "not-a-uuid" }),
      code: grpc.status.INVALID_ARGUMENT,
    },
    {
      name: "GetOrder of an empty id",
      run: () => unary("GetOrder", { order_id: "" }),
      code: grpc.status.INVALID_ARGUMENT,
    },
    {
      name: "GetOrder of an unknown id",
      run: () => unary("GetOrder", { order_id: randomUUID() }),
      code: grpc.status.NOT_FOUND,
    },
    {
      name: "ListOrders without a customer",
      run: () => stream("ListOrders", { customer_id: "" }),
      code: grpc.status.INVALID_ARGUMENT,
    },
    {
      name: "ListOrders with limit 501",
      run: () => stream("ListOrders", { customer_id: "c-1", limit: 501 }),
      code: grpc.status.INVALID_ARGUMENT,
    },
    {
      name: "WatchOrder of an unknown id",
      run: () => stream("WatchOrder", { order_id: randomUUID() }),
      code: grpc.status.NOT_FOUND,
    },
    {
      name: "WatchOrder of a malformed id",
      run: () => stream("WatchOrder", { order_id: "x" }),
      code: grpc.status.INVALID_ARGUMENT,
    },
    {
      name: "PlaceOrder without items",
      run: () => unary("PlaceOrder", { idempotency_key: randomUUID(), customer_id: "c-1", items: [] }),
      code: grpc.status.INVALID_ARGUMENT,
    },
  ];
  for (const c of cases) {
    it(`when ${c.name}, then ${grpc.status[c.code]} within a second`, async () => {
      const { err, ms } = await c.run();
      assert.equal(err?.code, c.code, `${err?.code} ${err?.details}`);
      assert.ok(ms < 1000, `answered in ${ms} ms`);
    });
  }

  it("when an id of 7,000 characters is sent, then the message does not echo it", async () => {
    const { err } = await unary("GetOrder", { order_id: "a".repeat(7000) });
    assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
    assert.ok((err?.details.length ?? 0) < 100, `details: ${err?.details.length} characters`);
  });
});
