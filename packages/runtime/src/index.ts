export * from "./boot.js";
export * from "./graceful-shutdown.js";
