/**
 * Acting on the system's NATS as the operator user: what an administrator,
 * `pnpm dlq` and `pnpm replay` connect as (the services' own users cannot
 * publish to other domains or read the dead letters).
 */
import { spawnSync } from "node:child_process";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connectNats } from "@orderflow/process";
import { baseEnv, NATS_USERS, REPO_ROOT } from "@orderflow/testing";

/** Runs `fn` on an operator connection to `natsUrl`, closed after. */
export async function asOperator<T>(
  natsUrl: string,
  fn: (js: { jsm: JetStreamManager; js: JetStreamClient }) => Promise<T>,
): Promise<T> {
  const nc = await connectNats({
    url: natsUrl,
    name: "e2e-operator",
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

/** Runs one of the documented commands (scripts/<name>.ts) as a separate process, as the operator. */
export function runCommand(
  script: "dlq" | "replay",
  natsUrl: string,
  args: string[],
  timeoutMs = 30_000,
  extraEnv: Record<string, string> = {},
) {
  const result = spawnSync(
    process.execPath,
    ["--conditions=development", "--import", "tsx", `scripts/${script}.ts`, ...args],
    {
      cwd: REPO_ROOT,
      env: {
        ...baseEnv(),
        NATS_URL: natsUrl,
        NATS_USER: NATS_USERS.operator.user,
        NATS_PASSWORD: NATS_USERS.operator.password,
        ...extraEnv,
      },
      encoding: "utf8",
      timeout: timeoutMs,
    },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
