export * from "./create-pool.js";
export * from "./migrate-schema.js";
