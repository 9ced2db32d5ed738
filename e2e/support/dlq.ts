/** Runs the documented `dlq` command (scripts/dlq.ts) as a separate process. */
import { spawnSync } from "node:child_process";
import { baseEnv, NATS_USERS, REPO_ROOT } from "@orderflow/testing";

export function dlq(natsUrl: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(
    process.execPath,
    ["--conditions=development", "--import", "tsx", "scripts/dlq.ts", ...args],
    {
      cwd: REPO_ROOT,
      env: {
        ...baseEnv(),
        NATS_URL: natsUrl,
        NATS_USER: NATS_USERS.operator.user,
        NATS_PASSWORD: NATS_USERS.operator.password,
      },
      encoding: "utf8",
      timeout: 30_000,
    },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface DeadLetterJson {
  seq: number;
  originalSubject: string;
  consumer: string;
  reason: string;
  deliveryCount: number;
  eventId: string;
}

export function listDeadLetters(natsUrl: string): DeadLetterJson[] {
  const { status, stdout, stderr } = dlq(natsUrl, "list", "--json");
  if (status !== 0) throw new Error(`dlq list failed: ${stderr}`);
  return JSON.parse(stdout) as DeadLetterJson[];
}
