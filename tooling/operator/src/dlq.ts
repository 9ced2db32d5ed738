/**
 * The dead-letter tool.
 *
 *   pnpm dlq list [--json]        every dead letter: sequence, when, subject, consumer, deliveries, reason
 *   pnpm dlq redrive <seq>        publish one back to its original subject (then remove it)
 *   pnpm dlq redrive --all        all of them, oldest first
 *
 * Connects to NATS_URL (default nats://127.0.0.1:4222), with NATS_USER and
 * NATS_PASSWORD when set. Redriven messages keep their event id (X-Event-Id),
 * so consumers that had already processed them ack them with no effect, as
 * long as they still remember it: a dead letter older than the inbox's
 * retention (INBOX_RETENTION_HOURS, default 192) is refused (docs/adr/0014).
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { messagingSettings, readSettings } from "@orderflow/config";
import { listDeadLetters, redriveDeadLetter } from "@orderflow/messaging";
import { connectAsOperator } from "./connect-as-operator.js";

const usage = "usage: dlq list [--json] | dlq redrive <seq> | dlq redrive --all";

async function main(args: string[]): Promise<number> {
  const [command, arg] = args;
  if (command !== "list" && command !== "redrive") {
    console.error(usage);
    return 2;
  }
  if (command === "redrive" && arg !== "--all" && !/^\d+$/.test(arg ?? "")) {
    console.error(`redrive needs a sequence number or --all\n${usage}`);
    return 2;
  }
  const { inboxRetentionHours } = readSettings({ inboxRetentionHours: messagingSettings.inboxRetentionHours });
  const nc = await connectAsOperator("dlq");
  if (!nc) return 1;
  try {
    const jsm = await jetstreamManager(nc);
    if (command === "list") {
      const letters = await listDeadLetters(jsm);
      if (arg === "--json") {
        console.log(JSON.stringify(letters, null, 2));
      } else if (letters.length === 0) {
        console.log("no dead letters");
      } else {
        for (const l of letters) {
          console.log(
            `#${l.seq}  ${l.time.toISOString()}  ${l.originalSubject}  consumer=${l.consumer}  deliveries=${l.deliveryCount}  event=${l.eventId}\n      ${l.reason}`,
          );
        }
      }
      return 0;
    }
    const js = jetstream(nc);
    const seqs = arg === "--all" ? (await listDeadLetters(jsm)).map((l) => l.seq) : [Number(arg)];
    for (const seq of seqs) {
      const letter = await redriveDeadLetter(js, jsm, seq, { inboxRetentionMs: inboxRetentionHours * 3_600_000 });
      console.log(`redriven #${seq} -> ${letter.originalSubject} (event ${letter.eventId})`);
    }
    if (seqs.length === 0) console.log("no dead letters");
    return 0;
  } catch (err) {
    console.error(`dlq: ${(err as Error).message}`);
    return 1;
  } finally {
    await nc.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
