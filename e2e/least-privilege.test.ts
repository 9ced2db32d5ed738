/**
 * Least privilege: every service connects as its own NATS user
 * (infra/nats/users.conf) and its own Postgres role (infra/postgres/roles.sql),
 * the same ones docker compose and `pnpm start` use. One service cannot
 * publish another domain's events, subscribe to event subjects, delete a
 * stream, or read or write another service's tables. And the order service's
 * gRPC port, reachable directly, answers no call that carries no caller.
 *
 *   pnpm e2e least-privilege
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { createGrpcClient, OrderService } from "@orderflow/contracts";
import { connectNats } from "@orderflow/process";
import { NATS_USERS, type PG_ROLES, type System, urlAsRole } from "@orderflow/stack";
import pg from "pg";
import { notified, postOrder, waitForOrder } from "./support/api.js";
import { systemForSuite } from "./support/system.js";

const as = (system: System, user: keyof typeof NATS_USERS) =>
  connectNats({ url: system.nats.url, name: `least-privilege-${user}`, user, pass: NATS_USERS[user].password });

async function queryAs(system: System, service: keyof typeof PG_ROLES, sql: string) {
  const client = new pg.Client({ connectionString: urlAsRole(system.database.url, service) });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

describe("least-privilege", () => {
  const system = systemForSuite();

  it("when every service runs as its own user and role, then an order still completes", async () => {
    const res = await postOrder(system.gatewayUrl, { customerId: "cust-lp", items: [{ sku: "KB-001", quantity: 1 }] });
    await waitForOrder(system.gatewayUrl, res.body.orderId as string, (o) => o.status === "CONFIRMED" && notified(o));
  });

  it("when the order service's gRPC port is called directly without a token, then every method is UNAUTHENTICATED", async () => {
    const placed = await postOrder(system.gatewayUrl, {
      customerId: "cust-lp-grpc",
      items: [{ sku: "KB-001", quantity: 1 }],
    });
    const client = createGrpcClient(OrderService, system.orderGrpcAddress);
    const deadline = () => new Date(Date.now() + 10_000);
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => "OK",
        (err: grpc.ServiceError) => grpc.status[err.code],
      );
    const drain = async (stream: AsyncIterable<unknown>) => {
      for await (const _ of stream);
    };
    try {
      const codes = [
        await codeOf(client.getOrder({ orderId: placed.body.orderId as string }, { deadline: deadline() })),
        await codeOf(
          client.placeOrder(
            { idempotencyKey: "direct", items: [{ sku: "KB-001", quantity: 1 }] },
            { deadline: deadline() },
          ),
        ),
        await codeOf(drain(client.listOrders({ customerId: "cust-lp-grpc" }, { deadline: deadline() }))),
        await codeOf(drain(client.watchOrder({ orderId: placed.body.orderId as string }, { deadline: deadline() }))),
      ];
      assert.deepEqual(codes, Array(4).fill("UNAUTHENTICATED"));
    } finally {
      client.close();
    }
  });

  it("when inventory's NATS user publishes an order event, then the server refuses it and the stream does not change", async () => {
    const operator = await as(system, "operator");
    const inventory = await as(system, "inventory");
    try {
      const jsm = await jetstreamManager(operator);
      const before = (await jsm.streams.info("ORDERS")).state.messages;
      await assert.rejects(
        jetstream(inventory).publish("orders.order.placed", new Uint8Array([1]), { timeout: 2000 }),
        /Permissions Violation for Publish to "orders\.order\.placed"/,
      );
      await assert.rejects((await jetstreamManager(inventory)).streams.delete("ORDERS"), /Permissions Violation/);
      assert.equal((await jsm.streams.info("ORDERS")).state.messages, before);
    } finally {
      await Promise.all([operator.close(), inventory.close()]);
    }
  });

  it("when the gateway's NATS user subscribes to event subjects or publishes events, then the server refuses", async () => {
    const gateway = await as(system, "gateway");
    try {
      const sub = gateway.subscribe("orders.>");
      await assert.rejects(
        (async () => {
          for await (const _ of sub) break;
        })(),
        /Permissions Violation for Subscription to "orders\.>"/,
      );
      await assert.rejects(
        jetstream(gateway).publish("payments.payment.succeeded", new Uint8Array([1]), { timeout: 2000 }),
        /Permissions Violation/,
      );
    } finally {
      await gateway.close();
    }
  });

  it("when one service's role reads or writes another's tables, then Postgres refuses; its own tables it can read", async () => {
    await assert.rejects(
      queryAs(system, "inventory", "SELECT * FROM orders.orders"),
      /permission denied for schema orders/,
    );
    await assert.rejects(
      queryAs(
        system,
        "notification",
        "INSERT INTO payments.charges (id, order_id, amount_cents, status) VALUES (gen_random_uuid(), gen_random_uuid(), 1, 'succeeded')",
      ),
      /permission denied for schema payments/,
    );
    await assert.rejects(
      queryAs(system, "payment", "SELECT * FROM inventory.stock"),
      /permission denied for schema inventory/,
    );
    const own = await queryAs(system, "order", "SELECT count(*)::int AS n FROM orders.orders");
    assert.ok(own.rows[0].n >= 1);
  });
});
