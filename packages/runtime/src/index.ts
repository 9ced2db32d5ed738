export * from "./boot.js";
export * from "./graceful-shutdown.js";
export * from "./run-event-service.js";
