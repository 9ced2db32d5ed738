import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { IdempotencyConflictError, InvalidArgumentError } from "../src/errors.js";
import { requestHash } from "../src/idempotency-key.js";
import { toProtoOrder } from "../src/order-proto.js";
import { placeOrder } from "../src/place-order.js";
import { validatePlaceOrder } from "../src/place-order-request.js";
import { getOrder } from "../src/read-orders.js";
import { orderDatabase } from "./order-database.js";

const request = (key = randomUUID(), customerId = "cust-1") => ({
  idempotencyKey: key,
  customerId,
  items: [
    { sku: "SKU-1", quantity: 2 },
    { sku: "SKU-2", quantity: 1 },
  ],
});

/** The verified caller (grpc-server.ts authenticates; here it is given). */
const CALLER = { issuer: "https://issuer.test", subject: "cust-1" };

describe("placeOrder (against Postgres)", () => {
  let t: Awaited<ReturnType<typeof orderDatabase>>;
  before(async () => {
    t = await orderDatabase();
  });
  after(async () => t.close());

  it("when an order is placed, then the order, its items, its first step, its key and its event commit together", async () => {
    const result = await placeOrder({ db: t.db }, CALLER, request());
    assert.equal(result.replayed, false);
    assert.ok(result.placed);
    const now = new Date();
    assert.deepEqual(
      toProtoOrder(result.placed, now, 30_000),
      toProtoOrder(await getOrder(t.db, result.orderId), now, 30_000),
      "the order it returns is the one a read finds",
    );
    const id = `'${result.orderId}'`;
    assert.equal(await t.count("orders.orders", `id = ${id} AND status = 'PENDING' AND waiting_on = 'stock'`), 1);
    assert.equal(await t.count("orders.order_items", `order_id = ${id}`), 2);
    assert.equal(await t.count("orders.order_timeline", `order_id = ${id} AND step = 'placed'`), 1);
    assert.equal(await t.count("orders.idempotency_keys", `order_id = ${id}`), 1);
    const { rows } = await t.pool.query("SELECT subject, headers FROM orders.outbox WHERE published_at IS NULL");
    assert.ok(
      rows.some(
        (r) => r.subject === "orders.order.placed" && r.headers.eventType === "orderflow.events.v1.OrderPlaced",
      ),
    );
  });

  it("when an order is placed, then it is one statement sent once (no BEGIN, no COMMIT); a replay adds one read", async () => {
    const pool = new pg.Pool({ connectionString: t.pool.options.connectionString, max: 1 });
    const sent: string[] = [];
    pool.on("connect", (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      client.query = ((config: string | { text: string }, ...rest: unknown[]) => {
        sent.push(typeof config === "string" ? config : config.text);
        return query(config, ...rest);
      }) as typeof client.query;
    });
    try {
      const req = request(randomUUID(), "cust-round-trips");
      const first = await placeOrder({ db: drizzle(pool) }, CALLER, req);
      assert.equal(first.replayed, false);
      assert.equal(sent.length, 1, `one statement: ${sent.join(" | ")}`);
      assert.match(sent[0] as string, /^\s*WITH\s+p0_claim AS/);
      assert.equal(await t.count("orders.order_items", `order_id = '${first.orderId}'`), 2);
      const again = await placeOrder({ db: drizzle(pool) }, CALLER, req);
      assert.deepEqual([again.orderId, again.replayed], [first.orderId, true]);
      assert.equal(sent.length, 3, "a replay: the statement, which claims nothing, and the read of the key");
    } finally {
      await pool.end();
    }
  });

  it("when a key claimed before callers were known (migration 0005) comes again from its customer, then it replays; another caller gets an order of its own", async () => {
    const key = randomUUID();
    const first = await placeOrder({ db: t.db, ignoreIdempotencyKey: true }, CALLER, request(key));
    // As migration 0005 leaves a row written before callers were known: owner " <customerId>".
    await t.pool.query(
      "INSERT INTO orders.idempotency_keys (owner, key, request_hash, order_id) SELECT ' cust-1', $1, $2, $3",
      [key, requestHash(validatePlaceOrder(request(key))), first.orderId],
    );
    const again = await placeOrder({ db: t.db }, CALLER, request(key));
    assert.deepEqual([again.orderId, again.replayed], [first.orderId, true]);
    const other = await placeOrder({ db: t.db }, { ...CALLER, subject: "cust-2" }, request(key, "cust-2"));
    assert.notEqual(other.orderId, first.orderId);
    assert.equal(other.replayed, false);
  });

  it("when the same key comes again with the same request, then the first order is returned and nothing new is written", async () => {
    const req = request();
    const first = await placeOrder({ db: t.db }, CALLER, req);
    const before = await t.count("orders.outbox");
    const again = await placeOrder({ db: t.db }, CALLER, { ...req });
    assert.deepEqual(
      again,
      { orderId: first.orderId, replayed: true },
      "a replay returns no order of its own: it is read",
    );
    assert.equal(await t.count("orders.orders", `customer_id = '${req.customerId}' AND id = '${first.orderId}'`), 1);
    assert.equal(await t.count("orders.outbox"), before);
  });

  it("when the same key comes with a different request, then it is refused and nothing is written", async () => {
    const req = request(randomUUID(), "cust-conflict");
    await placeOrder({ db: t.db }, CALLER, req);
    await assert.rejects(
      placeOrder({ db: t.db }, CALLER, { ...req, items: [{ sku: "SKU-9", quantity: 1 }] }),
      (err: Error) =>
        err instanceof IdempotencyConflictError && /already used with a different request/.test(err.message),
    );
    assert.equal(await t.count("orders.orders", "customer_id = 'cust-conflict'"), 1);
  });

  it("when 20 calls with one key race, then exactly one order exists and every call names it", async () => {
    const req = request(randomUUID(), "cust-race");
    const results = await Promise.all(Array.from({ length: 20 }, () => placeOrder({ db: t.db }, CALLER, { ...req })));
    assert.equal(new Set(results.map((r) => r.orderId)).size, 1);
    assert.equal(results.filter((r) => !r.replayed).length, 1);
    assert.equal(await t.count("orders.orders", "customer_id = 'cust-race'"), 1);
    assert.equal(
      (await t.count("orders.outbox", `headers->>'eventType' IS NOT NULL AND payload IS NOT NULL`)) > 0,
      true,
    );
  });

  it("when 20 orders with different keys are placed at once, then they share a few statements (group commit), each placed once under its own key", async () => {
    const pool = new pg.Pool({ connectionString: t.pool.options.connectionString, max: 4 });
    let statements = 0;
    pool.on("connect", (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      client.query = ((...args: unknown[]) => {
        statements++;
        return query(...args);
      }) as typeof client.query;
    });
    try {
      const db = drizzle(pool);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => placeOrder({ db }, CALLER, request(randomUUID(), `cust-group-${i}`))),
      );
      assert.equal(new Set(results.map((r) => r.orderId)).size, 20);
      assert.ok(results.every((r) => !r.replayed));
      // The first alone (nothing was in flight), the 19 that waited for it together.
      assert.equal(statements, 2);
      for (const [i, r] of results.entries()) {
        assert.equal(await t.count("orders.orders", `id = '${r.orderId}' AND customer_id = 'cust-group-${i}'`), 1);
        assert.equal(await t.count("orders.order_items", `order_id = '${r.orderId}'`), 2);
        assert.equal(await t.count("orders.outbox", `position(convert_to('${r.orderId}', 'UTF8') in payload) > 0`), 1);
      }
    } finally {
      await pool.end();
    }
  });

  it("when one placement of a group fails, then the others are placed and only it gets the error", async () => {
    // A write that fails for one SKU only: the group's statement fails, and each placement is tried alone.
    await t.pool.query(`
      CREATE FUNCTION orders.refuse_boom() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN IF NEW.sku = 'BOOM-1' THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse_boom BEFORE INSERT ON orders.order_items FOR EACH ROW EXECUTE FUNCTION orders.refuse_boom();`);
    try {
      const item = (sku: string) => ({ ...request(randomUUID(), "cust-one-bad"), items: [{ sku, quantity: 1 }] });
      const results = await Promise.allSettled([
        placeOrder({ db: t.db }, CALLER, item("SKU-1")), // alone: nothing in flight
        placeOrder({ db: t.db }, CALLER, item("SKU-1")),
        placeOrder({ db: t.db }, CALLER, item("BOOM-1")),
        placeOrder({ db: t.db }, CALLER, item("SKU-2")),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ["fulfilled", "fulfilled", "rejected", "fulfilled"],
      );
      assert.match(String((results[2] as PromiseRejectedResult).reason?.cause?.message), /refused for the test/);
      assert.equal(await t.count("orders.orders", "customer_id = 'cust-one-bad'"), 3);
      assert.equal(await t.count("orders.idempotency_keys", "order_id NOT IN (SELECT id FROM orders.orders)"), 0);
    } finally {
      await t.pool.query("DROP TRIGGER refuse_boom ON orders.order_items; DROP FUNCTION orders.refuse_boom()");
    }
  });

  it("when the idempotency safeguard is off (unsafe toggle), then the same key places a second order", async () => {
    const req = request(randomUUID(), "cust-unsafe");
    const a = await placeOrder({ db: t.db, ignoreIdempotencyKey: true }, CALLER, req);
    const b = await placeOrder({ db: t.db, ignoreIdempotencyKey: true }, CALLER, req);
    assert.notEqual(a.orderId, b.orderId);
    assert.equal(await t.count("orders.orders", "customer_id = 'cust-unsafe'"), 2);
  });

  it("when a write in the transaction fails, then nothing of the order remains (no order without its event)", async () => {
    await t.pool.query("ALTER TABLE orders.outbox RENAME TO outbox_away");
    try {
      await assert.rejects(placeOrder({ db: t.db }, CALLER, request(randomUUID(), "cust-atomic")));
    } finally {
      await t.pool.query("ALTER TABLE orders.outbox_away RENAME TO outbox");
    }
    assert.equal(await t.count("orders.orders", "customer_id = 'cust-atomic'"), 0);
    assert.equal(await t.count("orders.idempotency_keys", "order_id NOT IN (SELECT id FROM orders.orders)"), 0);
  });
});

describe("validatePlaceOrder", () => {
  const cases: [string, object, string][] = [
    ["an empty key", { idempotencyKey: "" }, "idempotencyKey"],
    ["no customer", { customerId: "" }, "customerId"],
    ["no items", { items: [] }, "items"],
    ["quantity 0", { items: [{ sku: "A", quantity: 0 }] }, "items[0].quantity"],
    ["a negative quantity", { items: [{ sku: "A", quantity: -3 }] }, "items[0].quantity"],
    ["a fractional quantity", { items: [{ sku: "A", quantity: 1.5 }] }, "items[0].quantity"],
    ["a huge quantity", { items: [{ sku: "A", quantity: 1001 }] }, "items[0].quantity"],
    ["a bad SKU", { items: [{ sku: "A B", quantity: 1 }] }, "items[0].sku"],
    [
      "a repeated SKU",
      {
        items: [
          { sku: "A", quantity: 1 },
          { sku: "A", quantity: 2 },
        ],
      },
      "items[1].sku",
    ],
    ["a bad payment token", { paymentToken: "visa" }, "paymentToken"],
  ];
  for (const [what, change, field] of cases) {
    it(`when the request has ${what}, then it is refused naming ${field}`, () => {
      assert.throws(
        () => validatePlaceOrder({ ...request(), ...change }),
        (err: Error) => err instanceof InvalidArgumentError && err.field === field,
      );
    });
  }

  it("when no payment token is given, then tok_visa is used", () => {
    assert.equal(validatePlaceOrder(request()).paymentToken, "tok_visa");
  });
});
