/**
 * What the console shows, read where it lives: orders from the order service
 * (gRPC, as the operator signed in: their token goes along), consumers from
 * JetStream, outbox backlogs from each service's /metrics, dead letters from
 * the DEAD_LETTERS stream. The console owns no data and reads no schema.
 */
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  AUTHORIZATION_METADATA_KEY,
  createGrpcClient,
  EVENTS,
  HEADERS,
  type Order,
  OrderService,
  OrderStatus,
  STREAMS,
} from "@orderflow/contracts";
import { readDeadLetters, redriveDeadLetter } from "@orderflow/messaging";
import { SYSTEM } from "@orderflow/system";

/** An order as the console shows it. */
export interface OrderRow {
  orderId: string;
  customerId: string;
  status: string;
  waitingOn: string | null;
  waitingForMs: number | null;
  stalled: boolean;
  cancelReason: string | null;
  totalCents: number | null;
  createdAt: string | null;
  timeline: { step: string; at: string | null; detail: string }[];
}

const STATUS = ["UNSPECIFIED", "PENDING", "CONFIRMED", "CANCELLED"] as const;

function orderRow(o: Order, now = Date.now()): OrderRow {
  const since = o.waitingSince ? timestampDate(o.waitingSince).getTime() : null;
  return {
    orderId: o.orderId,
    customerId: o.customerId,
    status: STATUS[o.status] ?? "UNSPECIFIED",
    waitingOn: o.waitingOn || null,
    waitingForMs: since === null ? null : Math.max(0, now - since),
    stalled: o.stalled,
    cancelReason: o.cancelReason || null,
    totalCents: o.totalCents > 0n ? Number(o.totalCents) : null,
    createdAt: o.createdAt ? timestampDate(o.createdAt).toISOString() : null,
    timeline: o.timeline.map((t) => ({
      step: t.step,
      at: t.at ? timestampDate(t.at).toISOString() : null,
      detail: t.detail,
    })),
  };
}

export interface Orders {
  latest(bearer: string, filter: { status?: string; limit?: number }): Promise<OrderRow[]>;
  one(bearer: string, orderId: string): Promise<OrderRow>;
  close(): void;
}

export function ordersFrom(address: string): Orders {
  const client = createGrpcClient(OrderService, address, grpc.credentials.createInsecure());
  const options = (bearer: string) => {
    const metadata = new grpc.Metadata();
    metadata.set(AUTHORIZATION_METADATA_KEY, `Bearer ${bearer}`);
    return { metadata, deadline: new Date(Date.now() + 5000) };
  };
  return {
    async latest(bearer, { status, limit }) {
      const wanted = status ? OrderStatus[status as keyof typeof OrderStatus] : OrderStatus.UNSPECIFIED;
      if (wanted === undefined) throw new RangeError(`unknown status ${status}`);
      const rows: OrderRow[] = [];
      for await (const o of client.listOrders(
        { allCustomers: true, status: wanted, limit: limit ?? 50 },
        options(bearer),
      )) {
        rows.push(orderRow(o));
      }
      return rows;
    },
    one: async (bearer, orderId) => orderRow(await client.getOrder({ orderId }, options(bearer))),
    close: () => client.close(),
  };
}

export interface ConsumerRow {
  service: string;
  durable: string;
  stream: string;
  /** Messages not yet delivered, delivered and not yet acked, redelivered; null: the consumer is not there. */
  pending: number | null;
  ackPending: number | null;
  redelivered: number | null;
}

export interface OutboxRow {
  service: string;
  /** Rows not yet published, and the age of the oldest; null: the service did not answer. */
  pending: number | null;
  oldestAgeS: number | null;
}

const streamOf = (subject: string) =>
  Object.entries(STREAMS).find(([, filter]) => filter === `${subject.split(".")[0]}.>`)?.[0] ?? "";

export async function consumers(jsm: JetStreamManager): Promise<ConsumerRow[]> {
  return Promise.all(
    SYSTEM.flatMap((s) =>
      s.consumes.map(async (c) => {
        const stream = streamOf(c.subject);
        const info = await jsm.consumers.info(stream, c.durable).catch(() => undefined);
        return {
          service: s.name,
          durable: c.durable,
          stream,
          pending: info ? info.num_pending : null,
          ackPending: info ? info.num_ack_pending : null,
          redelivered: info ? info.num_redelivered : null,
        };
      }),
    ),
  );
}

/** A gauge's value summed over its series, from Prometheus text. */
function gauge(text: string, name: string, reduce: (values: number[]) => number): number | null {
  const values = text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((l) => Number(l.slice(l.lastIndexOf(" ") + 1)))
    .filter((v) => Number.isFinite(v));
  return values.length ? reduce(values) : null;
}

export async function outboxes(ops: Record<string, string>): Promise<OutboxRow[]> {
  const services = SYSTEM.filter((s) => "publishes" in s).map((s) => s.name);
  return Promise.all(
    services.map(async (service) => {
      const url = ops[service];
      const text = url
        ? await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(1000) })
            .then((r) => (r.ok ? r.text() : ""))
            .catch(() => "")
        : "";
      return {
        service,
        pending: gauge(text, "outbox_pending_rows", (v) => v.reduce((a, b) => a + b, 0)),
        oldestAgeS: gauge(text, "outbox_oldest_pending_age_seconds", (v) => Math.max(...v)),
      };
    }),
  );
}

export interface DeadLetterRow {
  seq: number;
  time: string;
  reason: string;
  consumer: string;
  originalSubject: string;
  deliveryCount: number;
  headers: Record<string, string>;
  /** The event decoded as JSON (payment tokens masked), or its bytes in hex when it does not decode. */
  payload: unknown;
}

const SCHEMAS = new Map<string, (typeof EVENTS)[keyof typeof EVENTS]["schema"]>(
  Object.values(EVENTS).map((e) => [e.schema.typeName, e.schema]),
);

/** No payment token or bearer token is shown: masked wherever it sits. */
function masked(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(masked);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, /token|authorization/i.test(k) ? "[masked]" : masked(v)]),
    );
  }
  return value;
}

function decode(type: string, data: Uint8Array): unknown {
  const schema = SCHEMAS.get(type);
  if (schema) {
    try {
      return masked(toJson(schema, fromBinary(schema, data)));
    } catch {}
  }
  return { hex: Buffer.from(data.slice(0, 256)).toString("hex") };
}

export interface DeadLetters {
  list(): Promise<DeadLetterRow[]>;
  /** Redrives through the same code as `pnpm dlq redrive` (packages/messaging/src/dead-letters.ts). */
  redrive(seq: number): Promise<void>;
  redriveAll(): Promise<number>;
}

export async function deadLettersOf(
  nc: NatsConnection,
  inboxRetentionMs: number,
): Promise<{ letters: DeadLetters; jsm: JetStreamManager }> {
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  const js = jetstream(nc);
  const letters: DeadLetters = {
    async list() {
      return (await readDeadLetters(jsm)).map((l) => ({
        seq: l.seq,
        time: l.time.toISOString(),
        reason: l.reason,
        consumer: l.consumer,
        originalSubject: l.originalSubject,
        deliveryCount: l.deliveryCount,
        headers: masked(l.headers) as Record<string, string>,
        payload: decode(l.headers[HEADERS.eventType] ?? "", l.data),
      }));
    },
    async redrive(seq) {
      await redriveDeadLetter(js, jsm, seq, { inboxRetentionMs });
    },
    async redriveAll() {
      const all = await readDeadLetters(jsm);
      for (const l of all) await redriveDeadLetter(js, jsm, l.seq, { inboxRetentionMs });
      return all.length;
    },
  };
  return { letters, jsm };
}
