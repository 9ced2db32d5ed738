/**
 * Acting on a system's NATS as the operator user: what an administrator,
 * `pnpm dlq` and `pnpm replay` connect as (the services' own users cannot
 * publish to other domains or read the dead letters).
 */
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connectNats } from "@orderflow/process";
import { NATS_USERS } from "./service-credentials.js";

/** Runs `fn` on an operator connection to `natsUrl`, closed after. */
export async function asOperator<T>(
  natsUrl: string,
  fn: (js: { jsm: JetStreamManager; js: JetStreamClient }) => Promise<T>,
): Promise<T> {
  const nc = await connectNats({
    url: natsUrl,
    name: "operator",
    user: NATS_USERS.operator.user,
    pass: NATS_USERS.operator.password,
    waitForServer: false,
  });
  try {
    return await fn({ jsm: await jetstreamManager(nc), js: jetstream(nc) });
  } finally {
    await nc.close();
  }
}
