/** GET /api/v1/inventory/:sku and GET /api/v1/inventory, answered by the inventory service over NATS request-reply. */
import { ORDER_LIMITS } from "@orderflow/contracts";
import type { FastifyInstance } from "fastify";
import type { InventoryClient } from "../inventory-client.js";
import { sendProblem } from "../problem.js";

const secured = { tags: ["inventory"], security: [{ bearer: [] }] } as const;

const skuSchema = {
  ...secured,
  summary: "A SKU's available and reserved stock (asked of the inventory service over NATS request-reply)",
  description: "404 for an unknown SKU; 504 when the inventory service does not answer in time, 503 when none listens.",
  params: {
    type: "object",
    required: ["sku"],
    properties: { sku: { type: "string", ...ORDER_LIMITS.sku } },
  },
} as const;

export function inventoryRoutes(app: FastifyInstance, inventory: InventoryClient) {
  app.get<{ Params: { sku: string } }>("/api/v1/inventory/:sku", { schema: skuSchema }, async (request, reply) => {
    const stock = await inventory.getStock(request.params.sku);
    if (!stock) {
      return sendProblem(reply, {
        type: "/problems/not-found",
        title: "Not found",
        status: 404,
        detail: `no SKU ${request.params.sku}`,
      });
    }
    return stock;
  });
  app.get("/api/v1/inventory", { schema: { ...secured, summary: "The catalogue with its stock" } }, async () => ({
    items: await inventory.listStock(),
  }));
}
