/**
 * Stock queries over NATS request-reply: the caller owns completion here too.
 * The gateway sets the timeout and decides what a silence means: no responder
 * (no inventory service is subscribed) is 503, no answer in time is 504.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { errors, headers, type NatsConnection } from "@nats-io/transport-node";
import {
  GetStockReplySchema,
  GetStockRequestSchema,
  HEADERS,
  INVENTORY_QUERIES,
  ListStockReplySchema,
  ListStockRequestSchema,
  type StockLevel,
} from "@orderflow/contracts";
import { currentCorrelation } from "@orderflow/logging";

export class InventoryQueryError extends Error {
  constructor(
    readonly kind: "timeout" | "no-responders" | "failed",
    message: string,
  ) {
    super(message);
  }
}

export interface StockJson {
  sku: string;
  name: string;
  unitPriceCents: number;
  available: number;
  reserved: number;
}

export interface InventoryClient {
  getStock(sku: string): Promise<StockJson | null>;
  listStock(): Promise<StockJson[]>;
}

const toJson = (s: StockLevel): StockJson => ({
  sku: s.sku,
  name: s.name,
  unitPriceCents: Number(s.unitPriceCents),
  available: Number(s.available),
  reserved: Number(s.reserved),
});

export function createInventoryClient(nc: NatsConnection, timeoutMs: number): InventoryClient {
  async function request(subject: string, data: Uint8Array): Promise<Uint8Array> {
    const h = headers();
    const correlationId = currentCorrelation()?.correlationId;
    if (correlationId) h.set(HEADERS.correlationId, correlationId);
    try {
      return (await nc.request(subject, data, { timeout: timeoutMs, headers: h })).data;
    } catch (err) {
      if (err instanceof errors.TimeoutError) {
        throw new InventoryQueryError("timeout", `the inventory service did not answer within ${timeoutMs} ms`);
      }
      if (err instanceof errors.RequestError && err.isNoResponders()) {
        throw new InventoryQueryError("no-responders", "no inventory service is available");
      }
      throw new InventoryQueryError("failed", `stock query failed: ${(err as Error).message}`);
    }
  }
  return {
    async getStock(sku) {
      const reply = fromBinary(
        GetStockReplySchema,
        await request(
          INVENTORY_QUERIES.getStock,
          toBinary(GetStockRequestSchema, create(GetStockRequestSchema, { sku })),
        ),
      );
      if (reply.error) throw new InventoryQueryError("failed", reply.error);
      return reply.found && reply.stock ? toJson(reply.stock) : null;
    },
    async listStock() {
      const reply = fromBinary(
        ListStockReplySchema,
        await request(INVENTORY_QUERIES.listStock, toBinary(ListStockRequestSchema, create(ListStockRequestSchema))),
      );
      if (reply.error) throw new InventoryQueryError("failed", reply.error);
      return reply.items.map(toJson);
    },
  };
}
