/**
 * Prometheus metrics of the consumer-owned path, as the consumer sees it:
 * processing time, outcomes, redeliveries and dead letters per consumer; the
 * consumer's lag (pending) and ack-pending as the server reports them; and the
 * outbox backlog (pending rows, age of the oldest) of the producing service.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import { perScrape } from "@orderflow/observability";
import type pg from "pg";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { type ConsumerObserver, OUTCOMES } from "./delivery.js";

export interface MessagingMetricsOptions {
  registry: Registry;
  jsm: JetStreamManager;
  consumers: { stream: string; durable: string }[];
  pool: pg.Pool;
  /** The schema of this service's outbox. */
  outboxSchema: string;
}

export function createMessagingMetrics({ registry, jsm, consumers, pool, outboxSchema }: MessagingMetricsOptions) {
  const registers = [registry];
  const duration = new Histogram({
    name: "consumer_processing_seconds",
    help: "Time from receiving a message to its ack, nak or dead letter, by consumer and outcome",
    labelNames: ["consumer", "outcome"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const deliveries = new Counter({
    name: "consumer_messages_total",
    help: "Deliveries processed, by consumer and outcome (handled, duplicate, retry, unavailable, dead-lettered)",
    labelNames: ["consumer", "outcome"],
    registers,
  });
  const redeliveries = new Counter({
    name: "consumer_redeliveries_total",
    help: "Deliveries that were not the first of their message",
    labelNames: ["consumer"],
    registers,
  });
  const deadLettered = new Counter({
    name: "consumer_dead_lettered_total",
    help: "Messages sent to the dead letters",
    labelNames: ["consumer"],
    registers,
  });
  const batchSize = new Histogram({
    name: "consumer_batch_size",
    help: "Messages a consumer handled in one transaction (a batch), by consumer",
    labelNames: ["consumer"],
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers,
  });
  const handlerErrors = new Counter({
    name: "consumer_handler_errors_total",
    help: "Deliveries whose handler failed (retried or dead-lettered)",
    labelNames: ["consumer"],
    registers,
  });

  // Every known series exists from the start, at 0: a counter whose series first
  // appears at 1 shows no increase(), and an alert on the first event would not fire.
  for (const { durable: consumer } of consumers) {
    for (const outcome of OUTCOMES) {
      deliveries.inc({ consumer, outcome }, 0);
      duration.zero({ consumer, outcome });
    }
    redeliveries.inc({ consumer }, 0);
    deadLettered.inc({ consumer }, 0);
    handlerErrors.inc({ consumer }, 0);
    batchSize.zero({ consumer });
  }

  // Read from the server on each scrape: what it still holds for the consumer.
  // One consumer-info call per consumer and scrape, shared by the two gauges.
  const consumerInfos = perScrape(() =>
    Promise.all(
      consumers.map(({ stream, durable }) =>
        jsm.consumers.info(stream, durable).then(
          (info) => ({ durable, info }),
          // The broker is unreachable: leave the last value rather than fail the scrape.
          () => ({ durable, info: undefined }),
        ),
      ),
    ),
  );
  const consumerState = async (pick: "num_pending" | "num_ack_pending", gauge: Gauge) => {
    for (const { durable, info } of await consumerInfos()) {
      if (info) gauge.set({ consumer: durable }, info[pick]);
    }
  };
  new Gauge({
    name: "consumer_pending_messages",
    help: "Messages in the stream not yet delivered to the consumer (its lag)",
    labelNames: ["consumer"],
    registers,
    async collect() {
      await consumerState("num_pending", this);
    },
  });
  new Gauge({
    name: "consumer_ack_pending_messages",
    help: "Messages delivered to the consumer and not yet acked",
    labelNames: ["consumer"],
    registers,
    async collect() {
      await consumerState("num_ack_pending", this);
    },
  });

  const outboxState = perScrape(async () => {
    const { rows } = await pool.query<{ pending: string; oldest: number | null }>(
      `SELECT count(*) AS pending, extract(epoch FROM now() - min(created_at))::float8 AS oldest
         FROM "${outboxSchema}".outbox WHERE published_at IS NULL`,
    );
    return { pending: Number(rows[0]?.pending ?? 0), oldest: rows[0]?.oldest ?? 0 };
  });
  new Gauge({
    name: "outbox_pending_rows",
    help: "Committed outbox rows not yet published",
    registers,
    async collect() {
      this.set((await outboxState().catch(() => ({ pending: 0 }))).pending);
    },
  });
  new Gauge({
    name: "outbox_oldest_pending_age_seconds",
    help: "Age of the oldest outbox row not yet published (0 when none)",
    registers,
    async collect() {
      this.set((await outboxState().catch(() => ({ oldest: 0 }))).oldest);
    },
  });
  const published = new Counter({ name: "outbox_published_total", help: "Outbox rows published", registers });

  const observer: ConsumerObserver = {
    onDelivery({ consumer, outcome, seconds, deliveryCount }) {
      duration.observe({ consumer, outcome }, seconds);
      deliveries.inc({ consumer, outcome });
      if (deliveryCount > 1) redeliveries.inc({ consumer });
      if (outcome === "dead-lettered") deadLettered.inc({ consumer });
      if (outcome === "retry" || outcome === "dead-lettered") handlerErrors.inc({ consumer });
    },
  };
  return {
    observer,
    onPublished: (n: number) => published.inc(n),
    onBatch: ({ consumer, size }: { consumer: string; size: number }) => batchSize.observe({ consumer }, size),
  };
}
