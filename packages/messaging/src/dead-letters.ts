/**
 * Dead letters: messages a consumer cannot process (undecodable, a permanent
 * error, or still failing at the last allowed delivery) are copied to the
 * DEAD_LETTERS stream as `deadletter.<original subject>`, with why and where in
 * headers, and then terminated, so the consumer moves on to the others.
 *
 * Redrive publishes a dead letter back to its original subject with a new
 * Nats-Msg-Id (to pass the duplicate window) and its original event id in
 * X-Event-Id, so every consumer's inbox still recognises the event: a consumer
 * that had processed it acks it with no effect.
 */
import type { JetStreamClient, JetStreamManager, JsMsg, StoredMsg } from "@nats-io/jetstream";
import { headers, type MsgHdrs } from "@nats-io/transport-node";
import { DEAD_LETTER_HEADERS, HEADERS, type STREAMS } from "@orderflow/contracts";
import { readEventMeta } from "./message-headers.js";

const DEAD_LETTERS = "DEAD_LETTERS" satisfies keyof typeof STREAMS;

const DL_ONLY = new Set<string>([...Object.values(DEAD_LETTER_HEADERS), HEADERS.messageId].map((h) => h.toLowerCase()));

function copyHeaders(from: MsgHdrs | undefined, skip: Set<string>): MsgHdrs {
  const h = headers();
  for (const [key, values] of from ?? []) {
    if (skip.has(key.toLowerCase())) continue;
    for (const v of values) h.append(key, v);
  }
  return h;
}

export async function sendToDeadLetters(
  js: JetStreamClient,
  msg: JsMsg,
  info: { consumer: string; reason: string },
): Promise<void> {
  const eventId = readEventMeta(msg.headers).eventId || `seq-${msg.seq}`;
  const h = copyHeaders(msg.headers, new Set([HEADERS.messageId.toLowerCase()]));
  h.set(HEADERS.eventId, eventId);
  h.set(DEAD_LETTER_HEADERS.reason, info.reason.replace(/[\r\n]+/g, " ").slice(0, 1000));
  h.set(DEAD_LETTER_HEADERS.originalSubject, msg.subject);
  h.set(DEAD_LETTER_HEADERS.consumer, info.consumer);
  h.set(DEAD_LETTER_HEADERS.deliveryCount, String(msg.info.deliveryCount));
  h.set(DEAD_LETTER_HEADERS.deadLetteredAt, new Date().toISOString());
  // Unique per delivery of this consumer: a dead letter is stored once even if this publish is retried.
  await js.publish(`deadletter.${msg.subject}`, msg.data, {
    headers: h,
    msgID: `${eventId}:${info.consumer}:${msg.seq}`,
  });
}

export interface DeadLetter {
  seq: number;
  time: Date;
  originalSubject: string;
  consumer: string;
  reason: string;
  deliveryCount: number;
  eventId: string;
  correlationId: string;
}

function describe(m: StoredMsg): DeadLetter {
  const get = (k: string) => m.header?.get(k) ?? "";
  return {
    seq: m.seq,
    time: m.time,
    originalSubject: get(DEAD_LETTER_HEADERS.originalSubject),
    consumer: get(DEAD_LETTER_HEADERS.consumer),
    reason: get(DEAD_LETTER_HEADERS.reason),
    deliveryCount: Number(get(DEAD_LETTER_HEADERS.deliveryCount)),
    eventId: get(HEADERS.eventId),
    correlationId: get(HEADERS.correlationId),
  };
}

/** A dead letter with what it carries: every header and the message's bytes (the console shows them). */
export interface DeadLetterContent extends DeadLetter {
  headers: Record<string, string>;
  data: Uint8Array;
}

export async function readDeadLetters(jsm: JetStreamManager): Promise<DeadLetterContent[]> {
  const letters: DeadLetterContent[] = [];
  await eachDeadLetter(jsm, (m) => {
    const headers: Record<string, string> = {};
    for (const k of m.header?.keys() ?? []) headers[k] = m.header?.get(k) ?? "";
    letters.push({ ...describe(m), headers, data: m.data });
  });
  return letters;
}

export async function listDeadLetters(jsm: JetStreamManager): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  await eachDeadLetter(jsm, (m) => letters.push(describe(m)));
  return letters;
}

async function eachDeadLetter(jsm: JetStreamManager, take: (m: StoredMsg) => void): Promise<void> {
  const info = await jsm.streams.info(DEAD_LETTERS).catch((err: Error) => {
    // No service has started yet to create it: there are no dead letters.
    if (/not found/i.test(err.message)) return undefined;
    throw err;
  });
  if (!info || info.state.messages === 0) return;
  const { state } = info;
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(DEAD_LETTERS, { seq }).catch(() => null);
    if (m) take(m);
  }
}

/**
 * A dead letter older than the inbox's retention window: its consumer may no
 * longer remember having processed the event by another way (a replay, a
 * later duplicate), so a redrive could process it twice (docs/adr/0014).
 */
export class DeadLetterTooOldError extends Error {
  override name = "DeadLetterTooOldError";
}

/**
 * Publishes one dead letter back to its original subject and removes it from
 * DEAD_LETTERS. `inboxRetentionMs` (INBOX_RETENTION_HOURS): a dead letter
 * older than that is refused, not redriven.
 */
export async function redriveDeadLetter(
  js: JetStreamClient,
  jsm: JetStreamManager,
  seq: number,
  options: { inboxRetentionMs?: number } = {},
): Promise<DeadLetter> {
  const m = await jsm.streams.getMessage(DEAD_LETTERS, { seq });
  if (!m) throw new Error(`no dead letter with sequence ${seq}`);
  const letter = describe(m);
  const ageMs = Date.now() - letter.time.getTime();
  if (options.inboxRetentionMs !== undefined && ageMs >= options.inboxRetentionMs) {
    throw new DeadLetterTooOldError(
      `dead letter #${seq} was dead-lettered ${(ageMs / 3_600_000).toFixed(2)} h ago, past the inbox's retention (INBOX_RETENTION_HOURS=${options.inboxRetentionMs / 3_600_000}): ${letter.consumer} may no longer remember whether it processed this event, so a redrive could process it twice; not redriven (replay the order's events with pnpm replay, whose replay id makes a second run harmless)`,
    );
  }
  if (!letter.originalSubject) throw new Error(`dead letter ${seq} has no ${DEAD_LETTER_HEADERS.originalSubject}`);
  const h = copyHeaders(m.header, DL_ONLY);
  h.set(HEADERS.eventId, letter.eventId);
  await js.publish(letter.originalSubject, m.data, { headers: h, msgID: `${letter.eventId}:redrive:${seq}` });
  await jsm.streams.deleteMessage(DEAD_LETTERS, seq);
  return letter;
}
