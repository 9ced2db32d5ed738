/** The chaos run (pnpm chaos and the chaos scenarios): a fault schedule, well-behaved clients, the invariant checker. */
export * from "./check-invariants.js";
export * from "./fault-schedule.js";
export * from "./run-chaos.js";
export * from "./well-behaved-client.js";
