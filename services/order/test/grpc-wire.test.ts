import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { createVerifier } from "@orderflow/auth";
import { createLogger } from "@orderflow/logging";
import { REPO_ROOT, startTestIssuer, type TestIssuer, waitFor } from "@orderflow/stack";
import { Registry } from "prom-client";
import protobuf from "protobufjs";
import { buildApp } from "../src/app.js";
import { createOrderMetrics } from "../src/metrics.js";
import { orderDatabase } from "./order-database.js";

/**
 * OrderService on the wire, driven by an independent client: @grpc/proto-loader
 * loads the .proto files at run time, without the project's adapter, so the
 * contract is checked as any other gRPC client sees it. Every error path ends
 * with its status within a second, streams included. Every call carries a
 * bearer token of the test's own issuer (customer "wire-1" unless it says
 * otherwise); who may do what is checked here too, at the gRPC boundary.
 */
describe("OrderService on the wire (an independent client, real Postgres)", () => {
  let t: Awaited<ReturnType<typeof orderDatabase>>;
  let server: grpc.Server;
  let health: ReturnType<typeof buildApp>["health"];
  let address = "";
  let auth: TestIssuer;
  // biome-ignore lint/suspicious/noExplicitAny: a dynamically loaded client has no static type
  let client: any;

  before(async () => {
    t = await orderDatabase();
    auth = await startTestIssuer();
    const logger = createLogger({ service: "order-test", level: "silent" });
    const metrics = createOrderMetrics(new Registry(), t.pool, 30_000, { waitingStatus: true });
    const verifier = createVerifier(auth.verifierConfig);
    const app = buildApp({
      db: t.db,
      logger,
      metrics,
      verifier,
      config: { stalledAfterMs: 30_000, faults: {} },
    });
    server = app.grpcServer;
    health = app.health;
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
    address = `127.0.0.1:${port}`;
    client = new pkg.orderflow.order.v1.OrderService(address, grpc.credentials.createInsecure());
  });
  after(async () => {
    client?.close();
    server?.forceShutdown();
    await auth?.server.stop();
    await t?.close();
  });

  const deadline = () => new Date(Date.now() + 10_000);

  /** Metadata of a call by `sub` (null: no credentials at all). */
  async function as(sub: string | null, scope?: string): Promise<grpc.Metadata> {
    const md = new grpc.Metadata();
    if (sub !== null) md.set("authorization", `Bearer ${await auth.token(sub, { scope })}`);
    return md;
  }

  async function unary(method: string, request: object, metadataOrNull?: grpc.Metadata) {
    const metadata = metadataOrNull ?? (await as("wire-1"));
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

  async function stream(method: string, request: object, metadataOrNull?: grpc.Metadata) {
    const metadata = metadataOrNull ?? (await as("wire-1"));
    return new Promise<{ items: unknown[]; err?: grpc.ServiceError; ms: number }>((resolve) => {
      const started = Date.now();
      const items: unknown[] = [];
      const call = client[method](request, metadata, { deadline: deadline() });
      call.on("data", (d: unknown) => items.push(d));
      call.on("error", (err: grpc.ServiceError) => resolve({ items, err, ms: Date.now() - started }));
      call.on("end", () => resolve({ items, ms: Date.now() - started }));
    });
  }

  it("when an order is placed and read back, then it is there, and the correlation id is echoed", async () => {
    const md = await as("wire-1");
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
    assert.ok(!("payment_token" in (got.res as object)), "no read returns the payment token");
    const listed = await stream("ListOrders", { customer_id: "wire-1" });
    assert.equal(listed.err, undefined);
    assert.equal(listed.items.length, 1);
    const own = await stream("ListOrders", {});
    assert.equal(own.items.length, 1, "an empty customer_id lists the caller's own orders");
  });

  it("when calls come without credentials, then UNAUTHENTICATED, whatever the method", async () => {
    const none = () => as(null);
    const results = [
      await unary(
        "PlaceOrder",
        { idempotency_key: randomUUID(), items: [{ sku: "KB-001", quantity: 1 }] },
        await none(),
      ),
      await unary("GetOrder", { order_id: randomUUID() }, await none()),
      await stream("ListOrders", {}, await none()),
      await stream("WatchOrder", { order_id: randomUUID() }, await none()),
    ];
    assert.deepEqual(
      results.map((r) => r.err?.code),
      Array(4).fill(grpc.status.UNAUTHENTICATED),
    );
    const forged = new grpc.Metadata();
    forged.set("authorization", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ3aXJlLTEifQ.");
    assert.equal((await unary("GetOrder", { order_id: randomUUID() }, forged)).err?.code, grpc.status.UNAUTHENTICATED);
  });

  it("when another customer asks for an order, then NOT_FOUND word for word as an unknown id, and an operator reads it", async () => {
    const placed = await unary("PlaceOrder", {
      idempotency_key: randomUUID(),
      items: [{ sku: "KB-001", quantity: 1 }],
    });
    const orderId = (placed.res as { order: { order_id: string; customer_id: string } }).order.order_id;
    assert.equal(
      (placed.res as { order: { customer_id: string } }).order.customer_id,
      "wire-1",
      "the customer is the caller",
    );
    const theirs = await unary("GetOrder", { order_id: orderId }, await as("wire-2"));
    const unknownId = randomUUID();
    const unknown = await unary("GetOrder", { order_id: unknownId }, await as("wire-2"));
    assert.equal(theirs.err?.code, grpc.status.NOT_FOUND);
    assert.equal(theirs.err?.details.replace(orderId, "ID"), unknown.err?.details.replace(unknownId, "ID"));
    const watched = await stream("WatchOrder", { order_id: orderId }, await as("wire-2"));
    assert.equal(watched.err?.code, grpc.status.NOT_FOUND);
    const listed = await stream("ListOrders", { customer_id: "wire-1" }, await as("wire-2"));
    assert.equal(listed.err?.code, grpc.status.PERMISSION_DENIED);
    const asOperator = await unary("GetOrder", { order_id: orderId }, await as("ops", "orders:operator"));
    assert.equal(asOperator.err, null);
    const operatorList = await stream("ListOrders", { customer_id: "wire-1" }, await as("ops", "orders:operator"));
    assert.ok(operatorList.items.length >= 1);
  });

  it("when every customer's orders are listed (the console), then only an operator may, newest first, filtered by status", async () => {
    const ops = () => as("ops", "orders:operator");
    const denied = await stream("ListOrders", { all_customers: true });
    assert.equal(denied.err?.code, grpc.status.PERMISSION_DENIED);
    const both = await stream("ListOrders", { all_customers: true, customer_id: "wire-1" }, await ops());
    assert.equal(both.err?.code, grpc.status.INVALID_ARGUMENT);
    const placed = await unary(
      "PlaceOrder",
      { idempotency_key: randomUUID(), items: [{ sku: "KB-001", quantity: 1 }] },
      await as("wire-9"),
    );
    const newest = (placed.res as { order: { order_id: string } }).order.order_id;
    const all = await stream("ListOrders", { all_customers: true, limit: 500 }, await ops());
    const rows = all.items as { order_id: string; customer_id: string; status: string }[];
    assert.equal(rows[0]?.order_id, newest, "newest first");
    assert.ok(new Set(rows.map((r) => r.customer_id)).size > 1, "across customers");
    const pending = await stream("ListOrders", { all_customers: true, status: "ORDER_STATUS_PENDING" }, await ops());
    assert.ok(pending.items.length > 0);
    assert.ok((pending.items as { status: string }[]).every((o) => o.status === "ORDER_STATUS_PENDING"));
    const confirmed = await stream(
      "ListOrders",
      { all_customers: true, status: "ORDER_STATUS_CONFIRMED" },
      await ops(),
    );
    assert.deepEqual(confirmed.items, [], "nothing is confirmed here (no other service runs)");
  });

  it("when a caller places an order in another customer's name, then PERMISSION_DENIED and nothing is placed", async () => {
    const key = randomUUID();
    const res = await unary(
      "PlaceOrder",
      { idempotency_key: key, customer_id: "wire-2", items: [{ sku: "KB-001", quantity: 1 }] },
      await as("wire-1"),
    );
    assert.equal(res.err?.code, grpc.status.PERMISSION_DENIED);
    const { rows } = await t.pool.query("SELECT count(*)::int AS n FROM orders.idempotency_keys WHERE key = $1", [key]);
    assert.equal(rows[0].n, 0);
  });

  it("when two callers use the same idempotency key, then each gets an order of their own, and a replay never crosses", async () => {
    const key = `shared-${randomUUID()}`;
    const order = { idempotency_key: key, items: [{ sku: "KB-001", quantity: 1 }] };
    const a = await unary("PlaceOrder", order, await as("key-a"));
    const b = await unary("PlaceOrder", order, await as("key-b"));
    const idOf = (r: { res: unknown }) => (r.res as { order: { order_id: string } }).order.order_id;
    assert.notEqual(idOf(a), idOf(b));
    assert.equal((b.res as { replayed: boolean }).replayed, false);
    const again = await unary("PlaceOrder", order, await as("key-b"));
    assert.equal(idOf(again), idOf(b));
    assert.equal((again.res as { replayed: boolean }).replayed, true);
    const misuse = await unary("PlaceOrder", { ...order, items: [{ sku: "MS-001", quantity: 2 }] }, await as("key-b"));
    assert.equal(misuse.err?.code, grpc.status.ALREADY_EXISTS);
    assert.ok(misuse.err?.details.includes(idOf(b)) && !misuse.err?.details.includes(idOf(a)), misuse.err?.details);
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
      name: "ListOrders of a malformed customer id (an operator)",
      run: async () => stream("ListOrders", { customer_id: "a b" }, await as("ops", "orders:operator")),
      code: grpc.status.INVALID_ARGUMENT,
    },
    {
      name: "ListOrders with limit 501",
      run: () => stream("ListOrders", { customer_id: "wire-1", limit: 501 }),
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
      run: () => unary("PlaceOrder", { idempotency_key: randomUUID(), items: [] }),
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

  /** A client of a standard service, from the .proto file its maintainers publish. */
  function standardClient(file: string, includeDir: string, path: string[]) {
    const definition = protoLoader.loadSync(file, { includeDirs: [includeDir], keepCase: true, enums: String });
    // biome-ignore lint/suspicious/noExplicitAny: a dynamically loaded client has no static type
    let ctor: any = grpc.loadPackageDefinition(definition);
    for (const part of path) ctor = ctor[part];
    return new ctor(address, grpc.credentials.createInsecure());
  }

  it("when grpc.health.v1.Health is asked, then NOT_SERVING while starting, SERVING once running, NOT_SERVING when draining; Watch streams it", async () => {
    const require = createRequire(import.meta.url);
    const healthProto = join(
      dirname(require.resolve("grpc-health-check/package.json")),
      "proto/health/v1/health.proto",
    );
    const healthClient = standardClient(healthProto, dirname(healthProto), ["grpc", "health", "v1", "Health"]);
    const check = (service: string) =>
      new Promise<string>((resolve, reject) =>
        healthClient.Check({ service }, { deadline: deadline() }, (err: Error | null, res: { status: string }) =>
          err ? reject(err) : resolve(res.status),
        ),
      );
    try {
      assert.equal(await check(""), "NOT_SERVING");
      const watched: string[] = [];
      const watch = healthClient.Watch({ service: "orderflow.order.v1.OrderService" });
      watch.on("data", (r: { status: string }) => watched.push(r.status));
      watch.on("error", () => {});
      await waitFor("the first watched status", () => watched.length >= 1);
      health.set("SERVING");
      assert.equal(await check(""), "SERVING");
      assert.equal(await check("orderflow.order.v1.OrderService"), "SERVING");
      await waitFor("the watched change", () => watched.includes("SERVING"));
      health.stop();
      assert.equal(await check(""), "NOT_SERVING");
      watch.cancel();
      assert.deepEqual(watched, ["NOT_SERVING", "SERVING", "NOT_SERVING"]);
    } finally {
      healthClient.close();
    }
  });

  it("when server reflection is asked (as grpcurl does), then it lists the services and describes OrderService", async () => {
    const require = createRequire(import.meta.url);
    const root = join(dirname(require.resolve("@grpc/reflection")), "..", "proto");
    const reflection = standardClient(join(root, "grpc/reflection/v1/reflection.proto"), root, [
      "grpc",
      "reflection",
      "v1",
      "ServerReflection",
    ]);
    const ask = (request: object) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const call = reflection.ServerReflectionInfo();
        call.on("data", (res: Record<string, unknown>) => {
          resolve(res);
          call.end();
        });
        call.on("error", reject);
        call.write(request);
      });
    try {
      const listed = await ask({ list_services: "" });
      const names = (listed.list_services_response as { service: { name: string }[] }).service.map((s) => s.name);
      assert.ok(names.includes("orderflow.order.v1.OrderService"), names.join(", "));
      assert.ok(names.includes("grpc.health.v1.Health"), names.join(", "));
      const described = await ask({ file_containing_symbol: "orderflow.order.v1.OrderService" });
      const files = (described.file_descriptor_response as { file_descriptor_proto: Buffer[] }).file_descriptor_proto;
      assert.ok(files.length > 0 && files.some((f) => f.toString("latin1").includes("PlaceOrder")));
    } finally {
      reflection.close();
    }
  });

  it("when a request is invalid, then INVALID_ARGUMENT carries google.rpc.BadRequest naming the proto field", async () => {
    const { err } = await unary("PlaceOrder", {
      idempotency_key: randomUUID(),
      items: [{ sku: "KB-001", quantity: 0 }],
    });
    assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
    // Decoded with protobufjs from the .proto files, not with the project's generated code.
    const root = await protobuf.load([
      join(REPO_ROOT, "proto/google/rpc/status.proto"),
      join(REPO_ROOT, "proto/google/rpc/error_details.proto"),
    ]);
    const raw = err?.metadata.get("grpc-status-details-bin")[0] as Buffer;
    assert.ok(raw, "a google.rpc.Status in grpc-status-details-bin");
    const status = root.lookupType("google.rpc.Status").toObject(root.lookupType("google.rpc.Status").decode(raw)) as {
      code: number;
      details: { type_url?: string; typeUrl?: string; value: Uint8Array }[];
    };
    assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
    const [detail] = status.details;
    assert.equal(detail?.type_url ?? detail?.typeUrl, "type.googleapis.com/google.rpc.BadRequest");
    const BadRequest = root.lookupType("google.rpc.BadRequest");
    const bad = BadRequest.toObject(BadRequest.decode(detail?.value as Uint8Array)) as {
      fieldViolations: { field: string; description: string }[];
    };
    assert.deepEqual(bad.fieldViolations, [
      { field: "items[0].quantity", description: "must be a whole number from 1 to 1000" },
    ]);
  });
});
