export * from "./fault-switches.js";
export * from "./settings.js";
