/**
 * Streams and durable consumers, created or updated at start-up. Every service
 * may run this; it is idempotent, so start-up order does not matter.
 *
 * One stream per domain (`orders.>`, `inventory.>`, ...), plus DEAD_LETTERS.
 * Consumers are durable pull consumers with explicit acks, one filter_subject
 * each (nats-server 2.9 has no filter_subjects) and max_ack_pending as
 * backpressure. The server's max_deliver is unlimited ON PURPOSE: the bound on
 * attempts is the runner's, which counts only the failures that are the
 * message's own (consumer-failures.ts). A server-side limit also counts the
 * deliveries burnt while the database was restarting, and a message past it
 * is silently never delivered again. Backoff between
 * attempts is the consumer runner's: it naks with a growing delay. There is no
 * server-side `backoff` schedule on purpose: on nats-server 2.9.10 a schedule
 * overrides nak delays from the second redelivery on (measured: with backoff
 * [30s, 60s], nak(500ms) redelivered after 0.5 s, then not before 30 s; without
 * it, every nak(500ms) redelivered after 0.5 s). A consumer that crashed
 * gets its message back after AckWait.
 */

import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { STREAMS } from "@orderflow/contracts";

const DAY_MS = 24 * 60 * 60 * 1000;

/** The stream that holds a subject. */
export function streamOf(subject: string): keyof typeof STREAMS {
  const domain = subject.split(".")[0];
  const found = Object.entries(STREAMS).find(([, pattern]) => pattern.split(".")[0] === domain);
  if (!found) throw new Error(`no stream holds subject ${subject}`);
  return found[0] as keyof typeof STREAMS;
}

/** How long the domain streams keep events by default (7 days): the window a replay can reach. */
export const DEFAULT_STREAM_MAX_AGE_MS = 7 * DAY_MS;

export async function provisionStreams(
  jsm: JetStreamManager,
  { maxAgeMs = DEFAULT_STREAM_MAX_AGE_MS, replicas = 1 }: { maxAgeMs?: number; replicas?: number } = {},
): Promise<void> {
  for (const [name, subject] of Object.entries(STREAMS)) {
    const maxAge = name === "DEAD_LETTERS" ? 30 * DAY_MS : maxAgeMs;
    const config = {
      name,
      subjects: [subject],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: replicas,
      // Publishes with a Nats-Msg-Id seen within this window are dropped as duplicates (two
      // minutes; JetStream refuses a window longer than the stream's max age).
      duplicate_window: nanos(Math.min(2 * 60 * 1000, maxAge)),
      max_age: nanos(maxAge),
    };
    try {
      await jsm.streams.info(name);
      await jsm.streams.update(name, config);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.streams.add(config).catch(async (addErr) => {
        // Another service created it in the meantime.
        if (!String(addErr).includes("already in use")) throw addErr;
      });
    }
  }
}

export interface ConsumerSpec {
  /** Durable name, e.g. "inventory-order-placed". */
  durable: string;
  subject: string;
  /** How long the server waits for an ack (or an in-progress signal) before redelivering. */
  ackWaitMs: number;
  /**
   * Failed attempts (with the infrastructure healthy) before the message goes
   * to the dead letters. Enforced by the runner, not the server.
   */
  maxDeliver: number;
  /** Unacked messages the server hands out at most: the consumer's backpressure. */
  maxAckPending: number;
}

export function consumerConfig(spec: ConsumerSpec): Partial<ConsumerConfig> {
  return {
    durable_name: spec.durable,
    filter_subject: spec.subject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(spec.ackWaitMs),
    max_deliver: -1, // unlimited: the runner decides (see above)
    max_ack_pending: spec.maxAckPending,
  };
}

export async function provisionConsumer(jsm: JetStreamManager, spec: ConsumerSpec): Promise<void> {
  const stream = streamOf(spec.subject);
  const config = consumerConfig(spec);
  try {
    await jsm.consumers.info(stream, spec.durable);
    await jsm.consumers.update(stream, spec.durable, config);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(stream, config);
  }
}

function isNotFound(err: unknown): boolean {
  return /not found/i.test(String((err as Error)?.message ?? err));
}
