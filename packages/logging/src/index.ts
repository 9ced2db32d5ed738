export * from "./correlation.js";
export * from "./create-logger.js";
