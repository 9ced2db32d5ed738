/** Composition root: config -> logger -> NATS, the order service, the verifier -> the console's HTTP server. */
import { createVerifier } from "@orderflow/auth";
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
const verifier = createVerifier(config.verifier, (err) =>
  logger.warn({ err: err.message }, "refreshing the issuer's keys failed; the keys already fetched stay in use"),
);
verifier
  .warmUp()
  .catch((err: Error) => logger.warn({ err: err.message }, "the issuer's keys are unavailable at start"));
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
