export * from "./create-test-database.js";
export * from "./free-port.js";
export * from "./otlp-receiver.js";
export * from "./service-credentials.js";
export * from "./start-nats-server.js";
export * from "./start-service.js";
export * from "./start-system.js";
export * from "./wait-for.js";
