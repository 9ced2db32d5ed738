/**
 * One call that gives a service its consumer-owned path: streams and its
 * durable consumers provisioned, one runner per subscription, the outbox relay
 * for what it publishes, and the messaging metrics. main.ts passes the
 * subscriptions; `stop()` stops intake, lets in-flight handlers finish, then
 * stops the relay.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { backoffDelayMs } from "@orderflow/backoff";
import type { Logger } from "@orderflow/logging";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import type pg from "pg";
import type { Registry } from "prom-client";
import type { BatchPolicy } from "./batch-delivery.js";
import type { Handler } from "./delivery.js";
import { createMessagingMetrics } from "./messaging-metrics.js";
import { messagingTables } from "./messaging-tables.js";
import { startOutboxRelay } from "./outbox-relay.js";
import { provisionConsumer, provisionStreams, streamOf } from "./provision.js";
import { type ReplayableSubscription, type ReplayPolicy, serveReplays } from "./replay.js";
import { type RunningConsumer, runConsumer } from "./run-consumer.js";

export interface Subscription<S extends DescMessage = DescMessage> {
  /** Durable consumer name: "<service>-<what it consumes>". */
  durable: string;
  subject: string;
  schema: S;
  handler: Handler<S>;
  /** Whether a replay may reprocess its events, and how (replay.ts). Every handler says. */
  replay: ReplayPolicy<S>;
  /** How several of its events share one transaction without deadlocks (batch-delivery.ts). */
  batch?: BatchPolicy<S>;
}

/** Keeps a subscription's handler typed by its schema. */
export function subscribe<S extends DescMessage>(subscription: Subscription<S>): Subscription {
  return subscription as unknown as Subscription;
}

export interface EventProcessingOptions {
  /** The service's name: it serves replays of its consumers on rpc.replay.<service>. */
  service: string;
  nc: NatsConnection;
  pool: pg.Pool;
  /** The relay's own pool (two connections), so that it never queues behind request work; default: pool. */
  relayPool?: pg.Pool;
  db: NodePgDatabase;
  logger: Logger;
  registry: Registry;
  /** This service's schema: its outbox, inbox and failure counts live there (messaging-tables.ts). */
  schema: string;
  subscriptions: Subscription[];
  consumer: { ackWaitMs: number; maxDeliver: number; maxAckPending: number; concurrency: number; batchSize: number };
  outboxPollMs: number;
  outboxBatchSize?: number;
  /** How long the domain streams keep events (max_age): the reach of a replay. */
  streamMaxAgeMs?: number;
  /** Replicas of each stream (1 on one server, 3 on a three-node cluster). */
  streamReplicas?: number;
  unsafe?: { inboxOutsideTransaction?: boolean; disableInProgressAcks?: boolean; disableTelemetry?: boolean };
}

export interface EventProcessing {
  /** Stops intake, lets in-flight handlers finish, runs `afterConsumers` (work their commits started), then stops the relay. */
  stop(afterConsumers?: () => Promise<unknown>): Promise<void>;
}

export async function startEventProcessing(options: EventProcessingOptions): Promise<EventProcessing> {
  const { nc, pool, db, logger, subscriptions } = options;
  const js = jetstream(nc);
  // Bounded retries: a JetStream cluster that is electing a leader, or creating R3 streams for
  // several services at once, answers late, and a nats-server restarting while this service
  // starts does not answer at all (jetstreamManager asks for the account's info); that is a
  // moment to wait through, not a crash.
  let jsm: JetStreamManager | undefined;
  await withRetries(logger, "reach JetStream, provision streams and consumers", async () => {
    jsm ??= await jetstreamManager(nc);
    await provisionStreams(jsm, { maxAgeMs: options.streamMaxAgeMs, replicas: options.streamReplicas });
    for (const sub of subscriptions) {
      await provisionConsumer(jsm, { durable: sub.durable, subject: sub.subject, ...options.consumer });
    }
  });
  if (!jsm) throw new Error("unreachable: provisioning succeeded without a JetStream manager");
  const metrics = createMessagingMetrics({
    registry: options.registry,
    jsm,
    consumers: options.unsafe?.disableTelemetry
      ? []
      : subscriptions.map((s) => ({ stream: streamOf(s.subject), durable: s.durable })),
    pool,
    outboxSchema: options.schema,
  });
  const { inbox, failures } = messagingTables(options.schema);
  const consumers: RunningConsumer[] = [];
  for (const sub of subscriptions) {
    // runConsumer looks its consumer up first (a JetStream request): retried like provisioning.
    await withRetries(logger, `start consumer ${sub.durable}`, async () => {
      consumers.push(
        await runConsumer({
          js,
          db,
          inbox,
          failures,
          spec: { durable: sub.durable, subject: sub.subject, ...options.consumer },
          schema: sub.schema,
          handler: sub.handler,
          logger,
          concurrency: options.consumer.concurrency,
          batchSize: options.consumer.batchSize,
          batch: sub.batch,
          observer: metrics.observer,
          onBatch: options.unsafe?.disableTelemetry ? undefined : metrics.onBatch,
          inboxOutsideTransaction: options.unsafe?.inboxOutsideTransaction,
          disableInProgressAcks: options.unsafe?.disableInProgressAcks,
          disableTelemetry: options.unsafe?.disableTelemetry,
        }),
      );
    });
  }
  const replays = serveReplays(nc, options.service, {
    js,
    db,
    inbox,
    logger,
    registry: options.registry,
    subscriptions: subscriptions as unknown as ReplayableSubscription[],
  });
  const relay = startOutboxRelay({
    pool: options.relayPool ?? pool,
    js,
    schema: options.schema,
    logger,
    pollIntervalMs: options.outboxPollMs,
    batchSize: options.outboxBatchSize,
    onPublished: metrics.onPublished,
  });
  return {
    async stop(afterConsumers) {
      replays.unsubscribe();
      await Promise.all(consumers.map((c) => c.stop()));
      await afterConsumers?.();
      await relay.stop();
    },
  };
}

async function withRetries(logger: Logger, what: string, fn: () => Promise<void>, attempts = 10): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts) throw err;
      const retryInMs = backoffDelayMs(attempt, { baseMs: 250, maxMs: 5000 });
      logger.warn({ err: (err as Error).message, attempt, retryInMs }, `${what} failed; retrying`);
      await new Promise((r) => setTimeout(r, retryInMs));
    }
  }
}
