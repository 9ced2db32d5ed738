export * from "./connect-nats.js";
export * from "./dead-letters.js";
export * from "./inbox.js";
export * from "./message-headers.js";
export * from "./outbox.js";
export * from "./outbox-relay.js";
export * from "./provision.js";
export * from "./run-consumer.js";
