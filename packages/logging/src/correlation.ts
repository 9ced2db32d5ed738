/**
 * The correlation context: one id per business flow (an order), minted or taken
 * at the edge, carried in gRPC metadata, NATS headers and outbox rows, and put on
 * every log line written while the flow's work runs (see create-logger.ts).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";

export interface CorrelationContext {
  correlationId: string;
  /** The id of the message that caused the current work, when it came from one. */
  causationId?: string;
}

const storage = new AsyncLocalStorage<CorrelationContext>();

export function withCorrelation<T>(context: CorrelationContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentCorrelation(): CorrelationContext | undefined {
  return storage.getStore();
}

export function mintCorrelationId(): string {
  return randomUUID();
}

const acceptable = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Takes a caller's correlation id when it is a sane token, and mints one otherwise,
 * so a hostile header can neither break a log line nor grow it without bound.
 */
export function acceptCorrelationId(raw: unknown): string {
  return typeof raw === "string" && acceptable.test(raw) ? raw : mintCorrelationId();
}
