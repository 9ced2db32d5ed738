/**
 * Replay: reprocess a window of a consumer's events through its own handler,
 * after a bug fix. (Redrive is for messages that FAILED; replay is for
 * messages that were handled, and handled wrong.)
 *
 * How replay and idempotency meet. The inbox makes every handler idempotent:
 * a naive replay would find every event already recorded and do nothing. So a
 * replay has its own id, and records each event in the inbox under
 * `<consumer>#replay:<replayId>`, in the same transaction as the handler's
 * effects. Each event is thus reprocessed at most once PER REPLAY: a replay
 * interrupted halfway and run again with the same id finishes the rest, and
 * normal delivery stays deduplicated as before (its records are untouched).
 *
 * Not every handler may run twice: a charge or a customer notification must
 * never happen again. So every subscription declares whether it is
 * replayable and how (its `replay`), and a replay of one that is not is
 * refused with the reason.
 *
 * The replay runs inside the service that owns the handler (its database, its
 * metrics, its traces), asked over NATS request-reply on
 * `rpc.replay.<service>`; `pnpm replay` is the client.
 */
import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import { DeliverPolicy, type JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection, Subscription as NatsSubscription } from "@nats-io/transport-node";
import { transaction } from "@orderflow/db";
import { type Logger, withCorrelation } from "@orderflow/logging";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import { Counter, type Registry } from "prom-client";
import type { Handler } from "./delivery.js";
import { type InboxTable, recordInInbox } from "./inbox.js";
import { readEventMeta } from "./message-headers.js";
import { streamOf } from "./provision.js";
import { withReplaySpan } from "./trace-propagation.js";

/** What a subscription says about being replayed. */
export type ReplayPolicy<S extends DescMessage = DescMessage> =
  | {
      replayable: true;
      /** How a replay reprocesses an event, in a sentence (shown by the command). */
      how: string;
      /** The handler a replay runs; by default the subscription's own. */
      handler?: Handler<S>;
    }
  | { replayable: false; why: string };

export interface ReplayRequest {
  /** The durable consumer whose events are reprocessed, e.g. "order-stock-reserved". */
  consumer: string;
  /** A window by time (ISO 8601) ... */
  since?: string;
  until?: string;
  /** ... or by stream sequence (inclusive). */
  fromSeq?: number;
  toSeq?: number;
  /** Only the events of this order. */
  orderId?: string;
  dryRun?: boolean;
  /** Required for a real run: the same id resumes a replay, a new id starts another. */
  replayId?: string;
  /** Stop after reprocessing this many events (a replay in steps; run again with the same id). */
  max?: number;
}

export interface ReplaySummary {
  consumer: string;
  subject: string;
  stream: string;
  replayId?: string;
  dryRun: boolean;
  /** Events of the window (after the order filter). */
  selected: number;
  firstSeq?: number;
  lastSeq?: number;
  firstTime?: string;
  lastTime?: string;
  reprocessed: number;
  /** Already reprocessed by this replay id. */
  skipped: number;
  failed: number;
  failures: { seq: number; error: string }[];
  /** True when --max stopped the run before the end of the window. */
  stoppedEarly: boolean;
}

export interface ReplayableSubscription {
  durable: string;
  subject: string;
  schema: DescMessage;
  handler: Handler<DescMessage>;
  replay: ReplayPolicy;
}

export class ReplayRefused extends Error {
  override name = "ReplayRefused";
}

export const REPLAY_OUTCOMES = ["reprocessed", "skipped", "failed"] as const;

export function replaySubject(service: string): string {
  return `rpc.replay.${service}`;
}

interface ReplayDeps {
  js: JetStreamClient;
  db: NodePgDatabase;
  inbox: InboxTable;
  logger: Logger;
  subscriptions: ReplayableSubscription[];
  metrics?: Counter;
}

/** Runs one replay (or its dry run) and returns its summary. */
export async function runReplay(deps: ReplayDeps, request: ReplayRequest): Promise<ReplaySummary> {
  const sub = deps.subscriptions.find((s) => s.durable === request.consumer);
  if (!sub) {
    throw new ReplayRefused(
      `no consumer ${request.consumer} here; consumers: ${deps.subscriptions.map((s) => s.durable).join(", ")}`,
    );
  }
  if (!sub.replay.replayable) {
    throw new ReplayRefused(`${sub.durable} is not replayable: ${sub.replay.why}`);
  }
  if (!request.dryRun && !request.replayId) throw new ReplayRefused("a real run needs a replay id (--replay-id)");
  if ((request.since || request.until) && (request.fromSeq || request.toSeq)) {
    throw new ReplayRefused("give a window by time (--since/--until) or by sequence (--from-seq/--to-seq), not both");
  }
  if (!request.since && !request.fromSeq)
    throw new ReplayRefused("give the start of the window: --since or --from-seq");
  const sinceMs = request.since ? Date.parse(request.since) : undefined;
  const untilMs = request.until ? Date.parse(request.until) : undefined;
  if (Number.isNaN(sinceMs) || Number.isNaN(untilMs)) throw new ReplayRefused("--since/--until must be ISO 8601 times");

  const stream = streamOf(sub.subject);
  const handler = sub.replay.handler ?? sub.handler;
  const inboxConsumer = `${sub.durable}#replay:${request.replayId ?? ""}`;
  const log = deps.logger.child({ consumer: sub.durable, replayId: request.replayId, dryRun: !!request.dryRun });
  const summary: ReplaySummary = {
    consumer: sub.durable,
    subject: sub.subject,
    stream,
    replayId: request.replayId,
    dryRun: !!request.dryRun,
    selected: 0,
    reprocessed: 0,
    skipped: 0,
    failed: 0,
    failures: [],
    stoppedEarly: false,
  };

  // An ordered consumer reads the stream from the window's start, in stream order, and is
  // gone when the replay ends; the durable consumer and its position are untouched.
  const reader = await deps.js.consumers.get(stream, {
    filter_subjects: sub.subject,
    ...(request.fromSeq
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: request.fromSeq }
      : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(sinceMs as number).toISOString() }),
  });
  let done = false;
  while (!done) {
    const batch = await reader.fetch({ max_messages: 100, expires: 1000 });
    let received = 0;
    for await (const msg of batch) {
      received++;
      const seq = msg.info.streamSequence;
      const at = new Date(Math.floor(msg.info.timestampNanos / 1e6));
      if ((request.toSeq && seq > request.toSeq) || (untilMs !== undefined && at.getTime() > untilMs)) {
        done = true;
        break;
      }
      if (msg.info.pending === 0) done = true;
      let event: MessageShape<DescMessage>;
      try {
        event = fromBinary(sub.schema, msg.data);
      } catch (err) {
        summary.failed++;
        summary.failures.push({ seq, error: `undecodable: ${(err as Error).message}` });
        continue;
      }
      if (request.orderId && (event as { orderId?: string }).orderId !== request.orderId) continue;
      summary.selected++;
      summary.firstSeq ??= seq;
      summary.firstTime ??= at.toISOString();
      summary.lastSeq = seq;
      summary.lastTime = at.toISOString();
      if (request.dryRun) continue;
      if (request.max !== undefined && summary.reprocessed >= request.max) {
        summary.stoppedEarly = true;
        done = true;
        break;
      }

      const meta = { ...readEventMeta(msg.headers), subject: msg.subject, deliveryCount: 1 };
      const outcome = await withCorrelation(
        { correlationId: meta.correlationId || `replay-${request.replayId}`, causationId: meta.eventId },
        () =>
          withReplaySpan(
            meta,
            {
              subject: msg.subject,
              id: meta.eventId,
              consumer: sub.durable,
              replayId: request.replayId as string,
              streamSequence: seq,
            },
            async (span) => {
              try {
                const result = await transaction(deps.db, async (tx) => {
                  const entry = { eventId: meta.eventId, consumer: inboxConsumer, subject: msg.subject };
                  if (!(await recordInInbox(tx, deps.inbox, entry))) return "skipped" as const;
                  await handler({ tx, event, meta, log: log.child({ seq, eventId: meta.eventId }) });
                  return "reprocessed" as const;
                });
                span.setAttribute("orderflow.outcome", result);
                return result;
              } catch (err) {
                summary.failures.push({ seq, error: (err as Error).message });
                log.error({ seq, err: (err as Error).message }, "replay of an event failed");
                return "failed" as const;
              }
            },
          ),
      );
      summary[outcome]++;
      deps.metrics?.inc({ consumer: sub.durable, outcome });
    }
    if (received === 0) done = true; // nothing more in the stream
  }
  log.info({ ...summary, failures: summary.failures.length }, request.dryRun ? "replay dry run" : "replay done");
  return summary;
}

/**
 * Serves replay requests for this service's consumers on rpc.replay.<service>.
 * One replay at a time; the reply is the summary, or { error }.
 */
export function serveReplays(
  nc: NatsConnection,
  service: string,
  deps: Omit<ReplayDeps, "metrics"> & { registry?: Registry },
): NatsSubscription {
  const metrics = deps.registry
    ? new Counter({
        name: "consumer_replayed_total",
        help: "Events reprocessed by a replay, by consumer and outcome (reprocessed, skipped, failed)",
        labelNames: ["consumer", "outcome"],
        registers: [deps.registry],
      })
    : undefined;
  for (const s of deps.subscriptions) {
    if (s.replay.replayable) for (const outcome of REPLAY_OUTCOMES) metrics?.inc({ consumer: s.durable, outcome }, 0);
  }
  let running: Promise<unknown> = Promise.resolve();
  return nc.subscribe(replaySubject(service), {
    callback: (err, msg) => {
      if (err) return;
      running = running.then(async () => {
        try {
          const request = JSON.parse(new TextDecoder().decode(msg.data)) as ReplayRequest;
          msg.respond(JSON.stringify(await runReplay({ ...deps, metrics }, request)));
        } catch (e) {
          msg.respond(JSON.stringify({ error: (e as Error).message, refused: e instanceof ReplayRefused }));
        }
      });
    },
  });
}
