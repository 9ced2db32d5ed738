import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  GetStockReplySchema,
  GetStockRequestSchema,
  INVENTORY_QUERIES,
  ListStockReplySchema,
  OrderPlacedSchema,
} from "@orderflow/contracts";
import { createPool, transaction } from "@orderflow/db";
import { createLogger } from "@orderflow/logging";
import { migrateServiceSchema } from "@orderflow/messaging";
import { connectNats } from "@orderflow/process";
import { type ComponentDatabase, componentDatabase, startNatsServer } from "@orderflow/stack";
import { drizzle } from "drizzle-orm/node-postgres";
import { INVENTORY } from "../src/app.js";
import { lockStockOfOrders, reserveStock } from "../src/reserve-stock.js";
import { seedCatalogue } from "../src/seed-catalogue.js";
import { commitStock, lockStockOfOrders as lockHeldOfOrders, releaseStock } from "../src/settle-reservations.js";
import { serveStockQueries } from "../src/stock-queries.js";

/** The inventory service's use cases against the real Postgres (and stock queries over a real nats-server). */
describe("inventory (against Postgres)", () => {
  let t: ComponentDatabase;
  const q = (sql: string, params: unknown[] = []) => t.rows(sql, params);

  before(async () => {
    t = await componentDatabase("inventory", (pool) => migrateServiceSchema(pool, INVENTORY));
    assert.equal(await seedCatalogue(t.db), 6);
    assert.equal(await seedCatalogue(t.db), 0, "seeding twice changes nothing");
  });
  after(() => t?.close());

  const placed = (items: { sku: string; quantity: number }[]) =>
    create(OrderPlacedSchema, { orderId: randomUUID(), customerId: "c-1", items, paymentToken: "tok_visa" });
  const stockOf = async (sku: string) =>
    (await q("SELECT available, reserved FROM inventory.stock WHERE sku = $1", [sku]))[0];
  const events = async (orderId: string) =>
    (
      await q(
        "SELECT subject FROM inventory.outbox WHERE position(convert_to($1, 'UTF8') in payload) > 0 ORDER BY created_at",
        [orderId],
      )
    ).map((r) => r.subject);

  it("when every line is in stock, then all are reserved and priced, in one transaction", async () => {
    const before = [await stockOf("KB-001"), await stockOf("MS-001")];
    const order = placed([
      { sku: "MS-001", quantity: 2 },
      { sku: "KB-001", quantity: 1 },
    ]);
    await transaction(t.db, (tx) => reserveStock(tx, order));
    assert.deepEqual(await stockOf("KB-001"), { available: before[0].available - 1, reserved: before[0].reserved + 1 });
    assert.deepEqual(await stockOf("MS-001"), { available: before[1].available - 2, reserved: before[1].reserved + 2 });
    assert.equal((await q("SELECT * FROM inventory.reservations WHERE order_id = $1", [order.orderId])).length, 2);
    assert.deepEqual(await events(order.orderId), ["inventory.stock.reserved"]);
  });

  it("when one line is short or unknown, then nothing is reserved and the order is rejected with the reason", async () => {
    const before = await stockOf("KB-001");
    const order = placed([
      { sku: "KB-001", quantity: 1 },
      { sku: "LT-001", quantity: 50 },
      { sku: "NOPE-1", quantity: 1 },
    ]);
    await transaction(t.db, (tx) => reserveStock(tx, order));
    assert.deepEqual(await stockOf("KB-001"), before, "all or none");
    assert.equal((await q("SELECT * FROM inventory.reservations WHERE order_id = $1", [order.orderId])).length, 0);
    assert.deepEqual(await events(order.orderId), ["inventory.stock.rejected"]);
  });

  it("when a reservation is released, twice, then the stock comes back once and the release is announced once", async () => {
    const before = await stockOf("HD-001");
    const order = placed([{ sku: "HD-001", quantity: 3 }]);
    await transaction(t.db, (tx) => reserveStock(tx, order));
    await transaction(t.db, (tx) => releaseStock(tx, order.orderId));
    await transaction(t.db, (tx) => releaseStock(tx, order.orderId));
    assert.deepEqual(await stockOf("HD-001"), before);
    assert.deepEqual(await events(order.orderId), ["inventory.stock.reserved", "inventory.stock.released"]);
  });

  it("when a reservation is committed (the order confirmed), then it leaves reserved and is sold, once", async () => {
    const before = await stockOf("MN-001");
    const order = placed([{ sku: "MN-001", quantity: 2 }]);
    await transaction(t.db, (tx) => reserveStock(tx, order));
    await transaction(t.db, (tx) => commitStock(tx, order.orderId));
    await transaction(t.db, (tx) => commitStock(tx, order.orderId));
    await transaction(t.db, (tx) => releaseStock(tx, order.orderId)); // a late cancel changes nothing sold
    assert.deepEqual(await stockOf("MN-001"), { available: before.available - 2, reserved: before.reserved });
    assert.deepEqual(
      (await q("SELECT status FROM inventory.reservations WHERE order_id = $1", [order.orderId])).map((r) => r.status),
      ["committed"],
    );
  });

  it("when stock is asked over NATS request-reply, then one SKU and the catalogue are answered from the table", async () => {
    const nats = await startNatsServer();
    const nc = await connectNats({ url: nats.url, name: "inventory-test" });
    const subs = serveStockQueries(nc, t.db, createLogger({ service: "inventory-test", level: "silent" }));
    try {
      const one = fromBinary(
        GetStockReplySchema,
        (
          await nc.request(
            INVENTORY_QUERIES.getStock,
            toBinary(GetStockRequestSchema, create(GetStockRequestSchema, { sku: "CB-001" })),
          )
        ).data,
      );
      assert.equal(one.found, true);
      assert.equal(one.stock?.sku, "CB-001");
      const unknown = fromBinary(
        GetStockReplySchema,
        (
          await nc.request(
            INVENTORY_QUERIES.getStock,
            toBinary(GetStockRequestSchema, create(GetStockRequestSchema, { sku: "NOPE" })),
          )
        ).data,
      );
      assert.equal(unknown.found, false);
      const all = fromBinary(
        ListStockReplySchema,
        (await nc.request(INVENTORY_QUERIES.listStock, new Uint8Array())).data,
      );
      assert.equal(all.items.length, 6);
    } finally {
      for (const s of subs) s.unsubscribe();
      await nc.close();
      await nats.stop();
    }
  });
});

/**
 * Two batches of placed orders whose SKUs come in opposite orders, run at once
 * as the batch delivery runs them (one transaction each). Each transaction
 * reserves its first order, then waits (up to a bound) for the other to have
 * done the same, so the locks interleave whenever they can.
 */
describe("inventory batches (against Postgres)", () => {
  let t: ComponentDatabase;
  before(async () => {
    t = await componentDatabase("inventory", (pool) => migrateServiceSchema(pool, INVENTORY));
    await seedCatalogue(t.db);
  });
  after(() => t?.close());

  const placed = (sku: string) =>
    create(OrderPlacedSchema, {
      orderId: randomUUID(),
      customerId: "c-1",
      items: [{ sku, quantity: 1 }],
      paymentToken: "tok_visa",
    });
  const totals = async () =>
    (
      await t.rows("SELECT sum(available + reserved)::int AS held, sum(reserved)::int AS reserved FROM inventory.stock")
    )[0];

  async function twoBatchesAtOnce(lockFirst: boolean) {
    let arrived = 0;
    const barrier = async () => {
      arrived++;
      for (let i = 0; i < 50 && arrived < 2; i++) await new Promise((r) => setTimeout(r, 10));
    };
    const batch = (orders: ReturnType<typeof placed>[]) =>
      transaction(t.db, async (tx) => {
        if (lockFirst) await lockStockOfOrders(tx, orders);
        const [first, second] = orders as [ReturnType<typeof placed>, ReturnType<typeof placed>];
        await reserveStock(tx, first);
        await barrier();
        await reserveStock(tx, second);
      });
    return Promise.allSettled([
      batch([placed("KB-001"), placed("MS-001")]),
      batch([placed("MS-001"), placed("KB-001")]),
    ]);
  }

  it("when two batches lock their SKUs one order at a time (the control), then Postgres finds them deadlocked", async () => {
    const results = await twoBatchesAtOnce(false);
    // drizzle wraps the driver's error: the SQLSTATE is on its cause.
    type PgError = { code?: string; cause?: { code?: string } };
    const codes = results.map((r) =>
      r.status === "rejected" ? ((r.reason as PgError).cause?.code ?? (r.reason as PgError).code) : "ok",
    );
    assert.ok(codes.includes("40P01"), `a deadlock: ${codes.join(", ")}`);
  });

  it("when each batch locks every SKU it touches first, in SKU order, then both commit and stock is conserved", async () => {
    const before = await totals();
    const results = await twoBatchesAtOnce(true);
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "fulfilled"],
    );
    const after = await totals();
    assert.equal(after.held, before.held, "available + reserved unchanged");
    assert.equal(after.reserved, before.reserved + 4, "four lines reserved");
  });

  it("when a batch reserves several orders in one transaction of the runner, then its stock, reservations and outbox are written in one statement", async () => {
    let statements = 0;
    const url = (t.pool as unknown as { options: { connectionString: string } }).options.connectionString;
    const counting = createPool({ url, applicationName: "stock-batch", onStatement: () => statements++ });
    const before = await totals();
    const orders = [placed("KB-001"), placed("MS-001"), placed("KB-001"), placed("MN-001")];
    try {
      await transaction(drizzle(counting), async (tx) => {
        await lockStockOfOrders(tx, orders);
        for (const order of orders) await reserveStock(tx, order);
      });
    } finally {
      await counting.end();
    }
    // Three round trips: BEGIN with the lock; one NOTIFY (no relay runs here); the stock rows, the
    // reservations and the outbox as one statement with COMMIT.
    assert.equal(statements, 3);
    const after = await totals();
    assert.equal(after.reserved, before.reserved + 4);
    assert.equal(after.held, before.held);
    const kb = await t.rows("SELECT count(*)::int AS n FROM inventory.reservations WHERE order_id = ANY($1::uuid[])", [
      orders.map((o) => o.orderId),
    ]);
    assert.equal(kb[0].n, 4);
  });

  it("when two transactions release the same order at once, then its stock comes back once (the second finds nothing held)", async () => {
    const order = placed("KB-001");
    await transaction(t.db, (tx) => reserveStock(tx, order));
    const before = await totals();
    let inside = 0;
    const release = () =>
      transaction(t.db, async (tx) => {
        await releaseStock(tx, order.orderId);
        inside++;
        // Hold the first one's locks until the second has asked for them.
        for (let i = 0; i < 20 && inside < 2; i++) await new Promise((r) => setTimeout(r, 10));
      });
    await Promise.all([release(), release()]);
    const after = await totals();
    assert.equal(after.reserved, before.reserved - 1);
    assert.equal(after.held, before.held, "given back once: available + reserved unchanged");
  });

  it("when a batch settles several orders in one transaction of the runner, then what they hold is locked in one statement and written in one", async () => {
    const orders = [placed("KB-001"), placed("MS-001"), placed("KB-001"), placed("MN-001")];
    for (const order of orders) await transaction(t.db, (tx) => reserveStock(tx, order));
    const before = await totals();
    let statements = 0;
    const url = (t.pool as unknown as { options: { connectionString: string } }).options.connectionString;
    const counting = createPool({ url, applicationName: "settle-batch", onStatement: () => statements++ });
    const [cancelled, ...confirmed] = orders as [ReturnType<typeof placed>, ...ReturnType<typeof placed>[]];
    try {
      await transaction(drizzle(counting), async (tx) => {
        await lockHeldOfOrders(
          tx,
          confirmed.map((o) => o.orderId),
        );
        for (const order of confirmed) await commitStock(tx, order.orderId);
        await commitStock(tx, confirmed[0]?.orderId as string); // a repeat in the same batch: nothing left to settle
      });
      // Two round trips: BEGIN with the lock of three orders' reservations and stock; the stock and the
      // reservations as one statement with COMMIT.
      assert.equal(statements, 2);
      statements = 0;
      await transaction(drizzle(counting), (tx) => releaseStock(tx, cancelled.orderId));
    } finally {
      await counting.end();
    }
    // The release alone: BEGIN with the lock (reservations and stock); one NOTIFY (no relay runs here);
    // the stock, the reservation and the outbox as one statement with COMMIT.
    assert.equal(statements, 3);
    const after = await totals();
    assert.equal(after.reserved, before.reserved - 4, "every line left reserved");
    assert.equal(after.held, before.held - 3, "three sold, one given back");
    const statuses = await t.rows(
      "SELECT order_id, status FROM inventory.reservations WHERE order_id = ANY($1::uuid[]) ORDER BY status",
      [orders.map((o) => o.orderId)],
    );
    assert.deepEqual(
      statuses.map((r) => r.status),
      ["committed", "committed", "committed", "released"],
    );
  });
});
