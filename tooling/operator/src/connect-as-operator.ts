/**
 * How the operator commands (`pnpm dlq`, `pnpm replay`) reach NATS: NATS_URL,
 * NATS_USER and NATS_PASSWORD from the environment, no waiting for a server
 * that is not there. undefined (after printing why) when it cannot connect.
 */
import { connectNats } from "@orderflow/process";

export function connectAsOperator(command: string) {
  const url = process.env.NATS_URL || "nats://127.0.0.1:4222";
  return connectNats({
    url,
    name: `${command}-cli`,
    waitForServer: false,
    user: process.env.NATS_USER || undefined,
    pass: process.env.NATS_PASSWORD || undefined,
  }).catch((err: Error) => {
    console.error(`${command}: cannot connect to NATS at ${url}: ${err.message}`);
    return undefined;
  });
}
