/** The demo catalogue. Safe to run any number of times: existing SKUs keep their stock. */
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import { stock } from "./db/schema.js";

export const CATALOGUE = [
  { sku: "KB-001", name: "Mechanical keyboard", unitPriceCents: 8900, available: 100 },
  { sku: "MS-001", name: "Wireless mouse", unitPriceCents: 2900, available: 200 },
  { sku: "MN-001", name: "27-inch monitor", unitPriceCents: 24900, available: 50 },
  { sku: "HD-001", name: "Headphones", unitPriceCents: 7900, available: 75 },
  { sku: "CB-001", name: "USB-C cable", unitPriceCents: 900, available: 500 },
  { sku: "LT-001", name: "Limited-edition desk lamp", unitPriceCents: 4900, available: 3 },
] as const;

export async function seedCatalogue(db: NodePgDatabase): Promise<number> {
  const inserted = await db
    .insert(stock)
    .values(CATALOGUE.map((item) => ({ ...item })))
    .onConflictDoNothing({ target: stock.sku })
    .returning({ sku: stock.sku });
  return inserted.length;
}
