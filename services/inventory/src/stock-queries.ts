/**
 * Stock queries over NATS request-reply: caller-owned completion on the bus.
 * The gateway asks with a timeout and decides what a silence means; this side
 * answers from the stock table, or with an error the caller can show.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import {
  GetStockReplySchema,
  GetStockRequestSchema,
  INVENTORY_QUERIES,
  ListStockReplySchema,
  type StockLevel,
} from "@orderflow/contracts";
import type { Logger } from "@orderflow/logging";
import { asc, eq } from "drizzle-orm";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import { stock } from "./db/schema.js";

type Row = typeof stock.$inferSelect;
const level = (r: Row): Omit<StockLevel, "$typeName"> => ({
  sku: r.sku,
  name: r.name,
  unitPriceCents: BigInt(r.unitPriceCents),
  available: BigInt(r.available),
  reserved: BigInt(r.reserved),
});

export function serveStockQueries(nc: NatsConnection, db: NodePgDatabase, logger: Logger): Subscription[] {
  // A queue group: any one inventory replica answers each query.
  const getStock = nc.subscribe(INVENTORY_QUERIES.getStock, {
    queue: "inventory",
    callback: (_err, msg) => void answerStock(msg),
  });
  async function answerStock(msg: Msg) {
    try {
      const { sku } = fromBinary(GetStockRequestSchema, msg.data);
      const [row] = await db.select().from(stock).where(eq(stock.sku, sku));
      msg.respond(
        toBinary(GetStockReplySchema, create(GetStockReplySchema, row ? { found: true, stock: level(row) } : {})),
      );
    } catch (err) {
      logger.error({ err }, "stock query failed");
      msg.respond(toBinary(GetStockReplySchema, create(GetStockReplySchema, { error: "stock query failed" })));
    }
  }
  const listStock = nc.subscribe(INVENTORY_QUERIES.listStock, {
    queue: "inventory",
    callback: (_err, msg) => void answerCatalogue(msg),
  });
  async function answerCatalogue(msg: Msg) {
    try {
      const rows = await db.select().from(stock).orderBy(asc(stock.sku));
      msg.respond(toBinary(ListStockReplySchema, create(ListStockReplySchema, { items: rows.map(level) })));
    } catch (err) {
      logger.error({ err }, "catalogue query failed");
      msg.respond(toBinary(ListStockReplySchema, create(ListStockReplySchema, { error: "catalogue query failed" })));
    }
  }
  return [getStock, listStock];
}
