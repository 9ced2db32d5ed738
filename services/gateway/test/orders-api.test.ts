/**
 * The HTTP contract of the order API: the gateway in-process (inject), over real
 * gRPC to the order service running as its own process on a real Postgres.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import type { NatsConnection } from "@nats-io/transport-node";
import { createVerifier, type Verifier } from "@orderflow/auth";
import { createLogger } from "@orderflow/logging";
import { connectNats } from "@orderflow/process";
import { freePort, NATS_USERS, type System, startSystem } from "@orderflow/stack";
import { validate } from "@readme/openapi-parser";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { Registry } from "prom-client";
import { buildApp as buildGateway, type GatewayDeps } from "../src/app.js";
import { createInventoryClient, type InventoryClient } from "../src/inventory-client.js";
import { createOrderClient, type OrderClient, orderRpcRetries } from "../src/order-client.js";

const policy = { maxAttempts: 3, attemptTimeoutMs: 1000, baseBackoffMs: 20, maxBackoffMs: 50 };

describe("order API (gateway -> gRPC -> order service -> Postgres)", () => {
  let system: System;
  let pool: pg.Pool;
  let orders: OrderClient;
  let gateway: FastifyInstance;
  let nc: NatsConnection;
  let inventory: InventoryClient;
  let verifier: Verifier;
  /** The gateway, trusting the system's test issuer. */
  const buildApp = (deps: Omit<GatewayDeps, "verifier">) => buildGateway({ ...deps, verifier });
  /** Authorization of `sub` (default: an operator, who may read every order). */
  const auth = async (sub?: string) => ({
    authorization: `Bearer ${sub === undefined ? await system.auth.operatorToken() : await system.auth.token(sub)}`,
  });
  const get = async (url: string, sub?: string, headers: Record<string, string> = {}) =>
    gateway.inject({ method: "GET", url, headers: { ...(await auth(sub)), ...headers } });

  before(async () => {
    system = await startSystem({ services: ["order"] });
    pool = new pg.Pool({ connectionString: system.database.url });
    const logger = createLogger({ service: "gateway", level: "warn" });
    nc = await connectNats({
      url: system.nats.url,
      name: "gateway-test",
      user: NATS_USERS.operator.user,
      pass: NATS_USERS.operator.password,
    });
    inventory = createInventoryClient(nc, 500);
    orders = createOrderClient(system.orderGrpcAddress, policy, logger);
    verifier = createVerifier(system.auth.verifierConfig);
    gateway = buildApp({ logger, orders, inventory, bodyLimitBytes: 65_536 });
  });

  after(async () => {
    await gateway?.close();
    orders?.close();
    await nc?.close();
    await pool?.end();
    await system?.stop();
  });

  const body = (customerId = "cust-api") => ({ customerId, items: [{ sku: "KB-001", quantity: 2 }] });
  /** POSTs as the body's customer (or "c"). */
  const post = async (
    payload: unknown,
    headers: Record<string, string> = { "idempotency-key": randomUUID() },
    sub = (payload as { customerId?: string })?.customerId ?? "c",
  ) =>
    gateway.inject({
      method: "POST",
      url: "/api/v1/orders",
      headers: { "content-type": "application/json", ...(await auth(sub)), ...headers },
      payload: typeof payload === "string" ? payload : JSON.stringify(payload),
    });

  it("when more placements wait on the order service than the edge allows, then the next is refused at once with 503 and Retry-After, and places nothing", async () => {
    // The order service answers the first placement only when the test says so.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived = () => {};
    const reached = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const slow: OrderClient = {
      ...orders,
      placeOrder: async (request, bearer) => {
        arrived();
        await held;
        return orders.placeOrder(request, bearer);
      },
    };
    const logger = createLogger({ service: "gateway", level: "silent" });
    const edge = buildApp({ logger, orders: slow, inventory, bodyLimitBytes: 65_536, maxInFlightPlacements: 1 });
    try {
      const headers = await auth("cust-busy");
      const postTo = (key: string) =>
        edge.inject({
          method: "POST",
          url: "/api/v1/orders",
          headers: { "content-type": "application/json", "idempotency-key": key, ...headers },
          payload: JSON.stringify(body("cust-busy")),
        });
      const first = postTo("busy-first");
      await reached; // the first is waiting on the order service
      const refused = await postTo("busy-second");
      assert.equal(refused.statusCode, 503);
      assert.equal(refused.headers["retry-after"], "1");
      assert.equal(refused.headers["content-type"], "application/problem+json; charset=utf-8");
      assert.equal(refused.json().type, "/problems/system-busy");
      release();
      assert.equal((await first).statusCode, 201);
      // Nothing was placed under the refused key: the same key now places a new order.
      const again = await postTo("busy-second");
      assert.equal(again.statusCode, 201);
      assert.equal(again.headers["idempotent-replayed"], "false");
    } finally {
      release();
      await edge.close();
    }
  });

  it("when /openapi.json is asked for, then an OpenAPI 3.1 document of every route, valid to a maintained parser, served without a token", async () => {
    const res = await gateway.inject({ method: "GET", url: "/openapi.json" });
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    assert.equal(doc.openapi, "3.1.0");
    const result = await validate(structuredClone(doc));
    assert.equal(result.valid, true, JSON.stringify(result));
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      "/api/v1/inventory",
      "/api/v1/inventory/{sku}",
      "/api/v1/orders",
      "/api/v1/orders/{orderId}",
      "/healthz",
      "/metrics",
      "/readyz",
    ]);
    assert.deepEqual(doc.paths["/api/v1/orders"].post.security, [{ bearer: [] }]);
    assert.deepEqual(doc.paths["/healthz"].get.security, []);
    assert.equal(doc.components.securitySchemes.bearer.scheme, "bearer");
    const body = doc.paths["/api/v1/orders"].post.requestBody.content["application/json"].schema;
    assert.deepEqual(body.required, ["items"], "the request body's schema is the route's own");
    // The parser can fail: the same document without its info is not valid.
    const { info: _info, ...broken } = structuredClone(doc);
    assert.equal((await validate(broken)).valid, false);
  });

  it("when an order is posted with a key, then 201 with the order and its Location", async () => {
    const res = await post(body(), { "idempotency-key": "key-201", "x-correlation-id": "corr-201" });
    assert.equal(res.statusCode, 201);
    const order = res.json();
    assert.match(order.orderId, /^[0-9a-f-]{36}$/);
    assert.equal(order.status, "PENDING");
    assert.equal(order.waitingOn, "stock");
    assert.deepEqual(order.items, [{ sku: "KB-001", quantity: 2, unitPriceCents: null }]);
    assert.deepEqual(
      order.timeline.map((t: { step: string }) => t.step),
      ["placed"],
    );
    assert.equal(res.headers.location, `/api/v1/orders/${order.orderId}`);
    assert.equal(res.headers["idempotent-replayed"], "false");
    assert.equal(res.headers["x-correlation-id"], "corr-201");
    const got = await get(res.headers.location as string, "cust-api");
    assert.equal(got.statusCode, 200);
    assert.equal(got.json().orderId, order.orderId);
  });

  it("when the correlation id is sent, then the order service logs the order under it (gRPC metadata)", () => {
    const placed = system
      .service("order")
      .jsonLines()
      .find((l) => l.msg === "order placed" && l.correlationId === "corr-201");
    assert.ok(placed, "the order service's log line carries the gateway's correlation id");
  });

  it("when a request is served, then every gateway log line it writes carries its correlation id", async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk, _e, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    const app = buildApp({
      logger: createLogger({ service: "gateway", destination }),
      orders,
      inventory,
      bodyLimitBytes: 65_536,
    });
    try {
      await app.inject({
        method: "GET",
        url: `/api/v1/orders/${randomUUID()}`,
        headers: { "x-correlation-id": "corr-logs", ...(await auth("cust-logs")) },
      });
    } finally {
      await app.close();
    }
    const requestLines = lines.filter((l) => l.reqId);
    assert.ok(requestLines.some((l) => l.msg === "request completed" && l.statusCode === 404));
    assert.deepEqual(new Set(requestLines.map((l) => l.correlationId)), new Set(["corr-logs"]));
  });

  it("when the same key and body come again, then the same order (201, Idempotent-Replayed: true)", async () => {
    const key = randomUUID();
    const first = await post(body(), { "idempotency-key": key });
    const again = await post(body(), { "idempotency-key": key });
    assert.equal(again.statusCode, 201);
    assert.equal(again.json().orderId, first.json().orderId);
    assert.equal(again.headers["idempotent-replayed"], "true");
  });

  it("when the same key comes with another body, then 422 problem+json", async () => {
    const key = randomUUID();
    await post(body(), { "idempotency-key": key });
    const res = await post({ ...body(), items: [{ sku: "KB-001", quantity: 3 }] }, { "idempotency-key": key });
    assert.equal(res.statusCode, 422);
    assert.match(res.headers["content-type"] as string, /^application\/problem\+json/);
    assert.equal(res.json().type, "/problems/idempotency-key-reused");
  });

  const bad: [string, unknown, Record<string, string> | undefined, number, string | undefined][] = [
    ["malformed JSON", '{"customerId": "c", "items": [', undefined, 400, undefined],
    ["no Idempotency-Key", body("c"), {}, 400, "Idempotency-Key"],
    ["quantity 0", { customerId: "c", items: [{ sku: "A", quantity: 0 }] }, undefined, 400, "items[0].quantity"],
    [
      "a negative quantity",
      { customerId: "c", items: [{ sku: "A", quantity: -1 }] },
      undefined,
      400,
      "items[0].quantity",
    ],
    [
      "a quantity as a string",
      { customerId: "c", items: [{ sku: "A", quantity: "2" }] },
      undefined,
      400,
      "items[0].quantity",
    ],
    [
      "a fractional quantity",
      { customerId: "c", items: [{ sku: "A", quantity: 1.5 }] },
      undefined,
      400,
      "items[0].quantity",
    ],
    ["an empty item list", { customerId: "c", items: [] }, undefined, 400, "items"],
    [
      "another customer's id",
      { customerId: "someone-else", items: [{ sku: "A", quantity: 1 }] },
      undefined,
      403,
      undefined,
    ],
    ["an unknown field", { ...body(), coupon: "FREE" }, undefined, 400, "coupon"],
    ["a JSON array body", [1, 2], undefined, 400, "body"],
    [
      "a repeated SKU",
      {
        customerId: "c",
        items: [
          { sku: "A", quantity: 1 },
          { sku: "A", quantity: 1 },
        ],
      },
      undefined,
      400,
      undefined,
    ],
    [
      "a prototype-poisoning key",
      '{"customerId":"c","items":[{"sku":"A","quantity":1}],"__proto__":{"x":1}}',
      undefined,
      400,
      undefined,
    ],
  ];
  for (const [what, payload, headers, status, field] of bad) {
    it(`when the request has ${what}, then ${status} problem+json${field ? ` naming ${field}` : ""}`, async () => {
      const res = await post(payload, headers, "c");
      assert.equal(res.statusCode, status, res.body);
      assert.match(res.headers["content-type"] as string, /^application\/problem\+json/);
      const problem = res.json();
      assert.equal(problem.status, status);
      if (field)
        assert.ok(
          problem.errors?.some((e: { field: string }) => e.field === field),
          res.body,
        );
    });
  }

  it("when the body is 10 MB, then 413 problem+json and nothing is placed", async () => {
    const huge = JSON.stringify({
      customerId: "big",
      items: [{ sku: "A", quantity: 1 }],
      pad: "x".repeat(10 * 1024 * 1024),
    });
    const res = await post(huge);
    assert.equal(res.statusCode, 413);
    assert.match(res.headers["content-type"] as string, /^application\/problem\+json/);
    const { rows } = await pool.query("SELECT count(*)::int AS n FROM orders.orders WHERE customer_id = 'big'");
    assert.equal(rows[0].n, 0);
  });

  it("when the body is not JSON, then 415 problem+json", async () => {
    const res = await gateway.inject({
      method: "POST",
      url: "/api/v1/orders",
      headers: { "content-type": "text/plain", "idempotency-key": "k", ...(await auth("c")) },
      payload: "hello",
    });
    assert.equal(res.statusCode, 415);
    assert.match(res.headers["content-type"] as string, /^application\/problem\+json/);
  });

  it("when an unknown order id is asked for, then 404 problem+json", async () => {
    const res = await get(`/api/v1/orders/${randomUUID()}`);
    assert.equal(res.statusCode, 404);
    assert.match(res.headers["content-type"] as string, /^application\/problem\+json/);
    assert.match(res.headers["x-correlation-id"] as string, /^[0-9a-f-]{36}$/, "a correlation id is minted");
  });

  it("when a malformed order id is asked for, then 400 naming the field, without echoing the input", async () => {
    const res = await get(`/api/v1/orders/${"x".repeat(90)}`);
    assert.equal(res.statusCode, 400);
    assert.match(res.json().detail, /^orderId: must be a UUID$/);
    // The order service's google.rpc.BadRequest, mapped to problem+json's errors[].
    assert.deepEqual(res.json().errors, [{ field: "orderId", message: "must be a UUID" }]);
  });

  it("when the list limit is beyond the order service's bound, then 400 at once naming query.limit", async () => {
    const started = Date.now();
    const res = await get("/api/v1/orders?customerId=c-1&limit=600", "c-1");
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().errors[0].field, "query.limit");
    assert.ok(Date.now() - started < 1000, "no round trip, no retries");
  });

  it("when a customer's orders are listed, then the streaming RPC feeds the list, newest first", async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await post(body("cust-list"))).json().orderId);
    const res = await get("/api/v1/orders?customerId=cust-list&limit=2", "cust-list");
    assert.equal(res.statusCode, 200);
    assert.deepEqual(
      res.json().orders.map((o: { orderId: string }) => o.orderId),
      [ids[2], ids[1]],
    );
    const idsOf = (r: { json(): { orders: { orderId: string }[] } }) => r.json().orders.map((o) => o.orderId);
    const own = await get("/api/v1/orders?limit=2", "cust-list");
    assert.deepEqual(idsOf(own), [ids[2], ids[1]], "without customerId: the caller's own orders");
    const theirs = await get("/api/v1/orders?customerId=cust-list", "cust-other");
    assert.equal(theirs.statusCode, 403);
    assert.equal(theirs.json().type, "/problems/forbidden");
    const byOperator = await get("/api/v1/orders?customerId=cust-list&limit=2");
    assert.deepEqual(idsOf(byOperator), [ids[2], ids[1]], "an operator lists any customer's orders");
  });

  it("when the order service cannot be reached, then /readyz says not ready and names it; when it can, ready", async () => {
    const logger = createLogger({ service: "gateway", level: "silent" });
    const deadClient = createOrderClient(`127.0.0.1:${await freePort()}`, policy, logger);
    const notReady = buildApp({
      logger,
      orders: deadClient,
      inventory,
      bodyLimitBytes: 65_536,
      readinessChecks: { order: () => deadClient.ready(300) },
    });
    const ready = buildApp({
      logger,
      orders,
      inventory,
      bodyLimitBytes: 65_536,
      readinessChecks: { order: () => orders.ready(1500) },
    });
    try {
      const down = await notReady.inject({ method: "GET", url: "/readyz" });
      assert.equal(down.statusCode, 503);
      assert.notEqual(down.json().checks.order, "ok");
      const up = await ready.inject({ method: "GET", url: "/readyz" });
      assert.equal(up.statusCode, 200);
      assert.deepEqual(up.json().checks, { order: "ok" });
    } finally {
      await notReady.close();
      await ready.close();
      deadClient.close();
    }
  });

  it("when the order service is unreachable, then 503 after the retries, within the retry budget", async () => {
    const logger = createLogger({ service: "gateway", level: "silent" });
    const registry = new Registry();
    const deadClient = createOrderClient(`127.0.0.1:${await freePort()}`, policy, logger, orderRpcRetries(registry));
    const deadGateway = buildApp({ logger, orders: deadClient, inventory, bodyLimitBytes: 65_536, registry });
    try {
      const started = Date.now();
      const res = await deadGateway.inject({
        method: "POST",
        url: "/api/v1/orders",
        headers: { "content-type": "application/json", "idempotency-key": randomUUID(), ...(await auth("cust-api")) },
        payload: JSON.stringify(body()),
      });
      assert.equal(res.statusCode, 503);
      assert.equal(res.headers["retry-after"], "1");
      assert.equal(res.json().type, "/problems/order-service-unavailable");
      assert.ok(Date.now() - started < 3 * 1000 + 100, "answered within the retry budget");
      const metrics = (await deadGateway.inject({ method: "GET", url: "/metrics" })).body;
      assert.match(
        metrics,
        /gateway_order_rpc_retries_total\{method="PlaceOrder",code="UNAVAILABLE"\} 2/,
        "both retries are counted",
      );
    } finally {
      await deadGateway.close();
      deadClient.close();
    }
  });

  it("when a caller exceeds the rate limit, then 429 problem+json with Retry-After; another caller (same address) is not limited; health checks stay open", async () => {
    const logger = createLogger({ service: "gateway", level: "silent" });
    const limited = buildApp({
      logger,
      orders,
      inventory,
      bodyLimitBytes: 65_536,
      rateLimit: { max: 3, windowMs: 60_000 },
    });
    try {
      const headers = await auth("cust-limited");
      const ask = async (h: Record<string, string>) =>
        limited.inject({ method: "GET", url: `/api/v1/orders/${randomUUID()}`, headers: h });
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await ask(headers)).statusCode);
      assert.deepEqual(statuses, [404, 404, 404, 429]);
      assert.equal((await ask(await auth("cust-unlimited"))).statusCode, 404, "the limit counts per caller");
      const res = await ask(headers);
      assert.equal(res.statusCode, 429);
      assert.match(res.headers["content-type"] as string, /^application\/problem\+json/);
      assert.ok(Number(res.headers["retry-after"]) > 0);
      for (let i = 0; i < 5; i++)
        assert.equal((await limited.inject({ method: "GET", url: "/healthz" })).statusCode, 200);
    } finally {
      await limited.close();
    }
  });
});
