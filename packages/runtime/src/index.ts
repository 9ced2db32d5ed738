export * from "./boot.js";
export * from "./run-event-service.js";
