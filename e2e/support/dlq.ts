/** Runs the documented `dlq` command (the bin orderflow-dlq, `pnpm dlq`) as a separate process. */
import { runCommand } from "./operator.js";

export const dlq = (natsUrl: string, ...args: string[]) => runCommand("dlq", natsUrl, args);

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
