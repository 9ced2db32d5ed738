/** Composition root: config -> logger -> NATS, the order service, the verifier -> the console's HTTP server. */
import { startVerifier } from "@orderflow/auth";
import { createLogger } from "@orderflow/logging";
import { connectNats, onShutdown } from "@orderflow/process";
import { buildConsole } from "./app.js";
import { loadConfig } from "./config.js";
import { consumers, deadLettersOf, ordersFrom, outboxes } from "./sources.js";
import { SpanBuffer } from "./span-buffer.js";

const config = loadConfig();
const logger = createLogger({ service: "console", level: config.logLevel });
const nc = await connectNats({
  url: config.natsUrl,
  name: "console",
  user: config.natsUser,
  pass: config.natsPassword,
});
const { letters, jsm } = await deadLettersOf(nc, config.inboxRetentionHours * 3_600_000);
const verifier = startVerifier(config.verifier, (fields, msg) => logger.warn(fields, msg));
const orders = ordersFrom(config.orderGrpcAddress);
const app = buildConsole({
  logger,
  verifier,
  orders,
  consumers: () => consumers(jsm),
  outboxes: () => outboxes(config.serviceOps),
  deadLetters: letters,
  spans: new SpanBuffer(config.traceBufferSpans),
  jaegerUiUrl: config.jaegerUiUrl,
  readinessChecks: { nats: () => nc.flush() },
});
await app.listen({ host: config.host, port: config.port });
logger.info({ url: `http://${config.host}:${config.port}`, orderService: config.orderGrpcAddress }, "console started");

onShutdown(logger, [
  ["stop HTTP intake", () => app.close()],
  ["close the order service channel", async () => orders.close()],
  ["drain NATS", () => nc.drain()],
]);
