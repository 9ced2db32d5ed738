/** A fresh database with the order service's migrations applied, for component tests. */
import { migrateServiceSchema } from "@orderflow/messaging";
import { componentDatabase } from "@orderflow/stack";
import { ORDER } from "../src/app.js";

export const orderDatabase = () => componentDatabase("order", (pool) => migrateServiceSchema(pool, ORDER));
