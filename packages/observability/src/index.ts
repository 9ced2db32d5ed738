export * from "./ops-server.js";
export * from "./per-scrape.js";
export * from "./span-count.js";
