/**
 * GET /api/v1/inventory: the gateway in-process, asking the inventory service
 * (its own process) over NATS request-reply.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import type { NatsConnection } from "@nats-io/transport-node";
import { createVerifier } from "@orderflow/auth";
import { GetStockReplySchema, INVENTORY_QUERIES } from "@orderflow/contracts";
import { createLogger } from "@orderflow/logging";
import { connectNats } from "@orderflow/process";
import { NATS_USERS, type System, startSystem } from "@orderflow/stack";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../src/app.js";
import { createInventoryClient } from "../src/inventory-client.js";
import { createOrderClient } from "../src/order-client.js";

describe("inventory API (gateway -> NATS request-reply -> inventory service)", () => {
  let system: System;
  let nc: NatsConnection;
  let gateway: FastifyInstance;
  const policy = { maxAttempts: 1, attemptTimeoutMs: 500, baseBackoffMs: 10, maxBackoffMs: 10 };

  before(async () => {
    system = await startSystem({ services: ["inventory"] });
    nc = await connectNats({
      url: system.nats.url,
      name: "gateway-test",
      user: NATS_USERS.operator.user,
      pass: NATS_USERS.operator.password,
    });
    const logger = createLogger({ service: "gateway", level: "silent" });
    gateway = buildApp({
      logger,
      orders: createOrderClient("127.0.0.1:1", policy, logger),
      inventory: createInventoryClient(nc, 300),
      verifier: createVerifier(system.auth.verifierConfig),
      bodyLimitBytes: 65_536,
    });
  });
  /** A GET of any authenticated caller: stock is not anyone's secret. */
  const get = async (url: string) =>
    gateway.inject({ method: "GET", url, headers: { authorization: `Bearer ${await system.auth.token("c-stock")}` } });
  after(async () => {
    await gateway?.close();
    await nc?.close();
    await system?.stop();
  });

  it("when a seeded SKU is asked for, then its available and reserved stock", async () => {
    const res = await get("/api/v1/inventory/KB-001");
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {
      sku: "KB-001",
      name: "Mechanical keyboard",
      unitPriceCents: 8900,
      available: 100,
      reserved: 0,
    });
  });

  it("when the catalogue is listed, then every seeded SKU is there", async () => {
    const res = await get("/api/v1/inventory");
    assert.equal(res.statusCode, 200);
    assert.deepEqual(
      res.json().items.map((i: { sku: string }) => i.sku),
      ["CB-001", "HD-001", "KB-001", "LT-001", "MN-001", "MS-001"],
    );
  });

  it("when an unknown SKU is asked for, then 404; a malformed one, 400", async () => {
    assert.equal((await get("/api/v1/inventory/NOPE-1")).statusCode, 404);
    const bad = await get("/api/v1/inventory/bad%20sku");
    assert.equal(bad.statusCode, 400);
    assert.match(bad.headers["content-type"] as string, /problem\+json/);
  });

  it("when no inventory service listens, then 503; when one does not answer, 504; when it answers with an error, 502", async () => {
    await system.service("inventory").stop();
    const none = await get("/api/v1/inventory/KB-001");
    assert.equal(none.statusCode, 503);
    assert.equal(none.json().type, "/problems/inventory-no-responders");

    const silent = nc.subscribe(INVENTORY_QUERIES.getStock, { callback: () => {} });
    try {
      await nc.flush();
      const slow = await get("/api/v1/inventory/KB-001");
      assert.equal(slow.statusCode, 504);
      assert.equal(slow.json().type, "/problems/inventory-timeout");
    } finally {
      silent.unsubscribe();
    }

    const failing = nc.subscribe(INVENTORY_QUERIES.getStock, {
      callback: (_err, msg) => {
        msg.respond(toBinary(GetStockReplySchema, create(GetStockReplySchema, { error: "stock query failed" })));
      },
    });
    try {
      await nc.flush();
      const bad = await get("/api/v1/inventory/KB-001");
      assert.equal(bad.statusCode, 502);
      assert.equal(bad.json().type, "/problems/inventory-failed");
    } finally {
      failing.unsubscribe();
    }
  });
});
