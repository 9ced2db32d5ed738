/**
 * What every process of the system does alike, the stateless gateway
 * included: connect to NATS (riding out a broker restart), and shut down in
 * order on SIGTERM.
 */
export * from "./connect-nats.js";
export * from "./graceful-shutdown.js";
