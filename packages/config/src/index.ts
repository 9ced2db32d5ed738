export * from "./fault-switches.js";
export * from "./service-config.js";
export * from "./settings.js";
