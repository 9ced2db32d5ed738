/**
 * pnpm replay: reprocess a window of one durable consumer's events through its
 * own handler, after a bug fix (packages/messaging/src/replay.ts says how
 * replay and the inbox meet). The replay runs inside the service that owns the
 * consumer, asked on rpc.replay.<service>; this is its client.
 *
 *   pnpm replay --consumer order-stock-reserved --since 2026-11-27T10:00:00Z --until 2026-11-27T14:00:00Z --dry-run
 *   pnpm replay --consumer order-stock-reserved --since ... --until ... --replay-id fix-prices-1
 *   pnpm replay --consumer order-stock-reserved --from-seq 120 --to-seq 180 --order-id <uuid> --replay-id r2
 *
 * --max N stops after N reprocessed events (run again with the same --replay-id
 * to go on). Connects to NATS_URL with NATS_USER / NATS_PASSWORD when set (the
 * `operator` user under `pnpm start`). Exit: 0 done, 1 refused or failed, 2 usage.
 */
import { parseArgs } from "node:util";
import { type ReplayRequest, type ReplaySummary, replaySubject } from "@orderflow/messaging";
import { connectAsOperator } from "./connect-as-operator.js";

const usage =
  "usage: replay --consumer <durable> (--since <ISO time> [--until <ISO time>] | --from-seq <n> [--to-seq <n>]) " +
  "[--order-id <id>] (--dry-run | --replay-id <id>) [--max <n>] [--json] [--timeout-ms <ms>]";

async function main(): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        consumer: { type: "string" },
        since: { type: "string" },
        until: { type: "string" },
        "from-seq": { type: "string" },
        "to-seq": { type: "string" },
        "order-id": { type: "string" },
        "dry-run": { type: "boolean", default: false },
        "replay-id": { type: "string" },
        max: { type: "string" },
        json: { type: "boolean", default: false },
        "timeout-ms": { type: "string", default: "600000" },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    return 2;
  }
  const consumer = values.consumer as string | undefined;
  const service = consumer?.split("-")[0];
  if (!consumer || !service) {
    console.error(`--consumer is required (e.g. order-stock-reserved)\n${usage}`);
    return 2;
  }
  const int = (name: string) => {
    const raw = values[name] as string | undefined;
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw)) throw new Error(`--${name} must be a whole number, not ${JSON.stringify(raw)}`);
    return Number(raw);
  };
  let request: ReplayRequest;
  try {
    request = {
      consumer,
      since: values.since as string | undefined,
      until: values.until as string | undefined,
      fromSeq: int("from-seq"),
      toSeq: int("to-seq"),
      orderId: values["order-id"] as string | undefined,
      dryRun: values["dry-run"] as boolean,
      replayId: values["replay-id"] as string | undefined,
      max: int("max"),
    };
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    return 2;
  }

  const nc = await connectAsOperator("replay");
  if (!nc) return 1;
  try {
    const reply = await nc
      .request(replaySubject(service), JSON.stringify(request), { timeout: int("timeout-ms") ?? 600_000 })
      .catch((err: Error) => {
        const down = /no responders/i.test(err.message) || (err as { code?: string }).code === "503";
        throw new Error(
          down
            ? `the ${service} service is not running: a replay runs inside the service that owns the consumer`
            : err.message,
        );
      });
    const answer = reply.json<ReplaySummary & { error?: string; refused?: boolean }>();
    if (answer.error) {
      console.error(`replay refused: ${answer.error}`);
      return 1;
    }
    if (values.json) console.log(JSON.stringify(answer));
    else print(answer);
    return answer.failed > 0 ? 1 : 0;
  } catch (err) {
    console.error(`replay: ${(err as Error).message}`);
    return 1;
  } finally {
    await nc.close();
  }
}

function print(s: ReplaySummary) {
  const window = s.selected
    ? `seq ${s.firstSeq}..${s.lastSeq}, ${s.firstTime} .. ${s.lastTime}`
    : "no events in the window";
  console.log(`${s.dryRun ? "dry run: " : ""}${s.consumer} (${s.subject} in ${s.stream})`);
  console.log(`  events in the window: ${s.selected} (${window})`);
  if (s.dryRun) return;
  console.log(
    `  replay ${s.replayId}: reprocessed ${s.reprocessed}, skipped ${s.skipped} (already reprocessed by this replay), failed ${s.failed}`,
  );
  for (const f of s.failures) console.log(`    seq ${f.seq}: ${f.error}`);
  if (s.stoppedEarly) console.log(`  stopped at --max; run again with --replay-id ${s.replayId} to go on`);
}

process.exit(await main());
