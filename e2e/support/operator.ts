/**
 * The operator's side in the scenarios: a NATS connection as the operator user
 * (from the stack), and the documented commands (`pnpm dlq`, `pnpm replay`:
 * the @orderflow/operator package's bins) run as separate processes.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { baseEnv, NATS_USERS, REPO_ROOT } from "@orderflow/stack";

export { asOperator } from "@orderflow/stack";

/** Runs one of the operator's commands (the bin orderflow-<name>) as a separate process, as the operator. */
export function runCommand(
  command: "dlq" | "replay",
  natsUrl: string,
  args: string[],
  timeoutMs = 30_000,
  extraEnv: Record<string, string> = {},
) {
  const result = spawnSync(join(REPO_ROOT, "node_modules", ".bin", `orderflow-${command}`), args, {
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
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
