export * from "./connection-errors.js";
export * from "./create-pool.js";
export * from "./migrate-schema.js";
export * from "./new-id.js";
export * from "./transaction.js";
export * from "./unit-of-work.js";
export * from "./wait-for-database.js";
