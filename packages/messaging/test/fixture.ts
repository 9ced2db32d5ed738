/** A real nats-server and a real Postgres schema with the messaging tables (their own migrations) and an effects table. */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { EVENTS, OrderPlacedSchema } from "@orderflow/contracts";
import { createPool } from "@orderflow/db";
import { createLogger } from "@orderflow/logging";
import { connectNats } from "@orderflow/process";
import { createTestDatabase, startNatsServer } from "@orderflow/stack";
import { drizzle } from "drizzle-orm/node-postgres";
import { pgSchema } from "drizzle-orm/pg-core";
import {
  type ConsumerSpec,
  messagingTables,
  migrateMessagingTables,
  provisionConsumer,
  provisionStreams,
  type RunConsumerOptions,
  runConsumer,
} from "../src/index.js";

export const testSchema = pgSchema("msgtest");
export const { outbox, inbox, failures } = messagingTables(testSchema);

/** `serverUrl`: a Postgres server of the test's own (one it may stop); by default the shared one. */
export async function messagingFixture(serverUrl?: string) {
  const nats = await startNatsServer();
  const database = await createTestDatabase(serverUrl);
  const pool = createPool({ url: database.url, applicationName: "messaging-test" });
  await migrateMessagingTables(pool, "msgtest");
  await pool.query("CREATE TABLE msgtest.effects (order_id text NOT NULL, note text NOT NULL)");
  const nc: NatsConnection = await connectNats({ url: nats.url, name: "messaging-test" });
  const jsm = await jetstreamManager(nc);
  await provisionStreams(jsm);
  const db = drizzle(pool);
  const js = jetstream(nc);
  const logger = createLogger({ service: "messaging-test", level: process.env.TEST_LOG_LEVEL ?? "silent" });
  return {
    nats,
    pool,
    db,
    nc,
    js,
    jsm,
    logger,
    /**
     * Provisions a durable consumer on orders.order.placed (ack wait 1 s, 3
     * deliveries, 10 pending unless `spec` says) and runs it on the fixture's tables.
     */
    async consume(
      spec: Partial<ConsumerSpec> & { durable: string },
      options: Partial<RunConsumerOptions<typeof OrderPlacedSchema>> &
        Pick<RunConsumerOptions<typeof OrderPlacedSchema>, "handler">,
    ) {
      const full: ConsumerSpec = {
        subject: EVENTS.orderPlaced.subject,
        ackWaitMs: 1000,
        maxDeliver: 3,
        maxAckPending: 10,
        ...spec,
      };
      await provisionConsumer(jsm, full);
      return runConsumer({
        js,
        db,
        inbox,
        failures,
        spec: full,
        schema: OrderPlacedSchema,
        logger,
        retryDelayMs: () => 100,
        ...options,
      });
    },
    count: async (sql: string) => Number((await pool.query(sql)).rows[0].n),
    async close() {
      await nc.close().catch(() => {});
      // A connection never released would hang pool.end() for ever: fail loudly instead.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        pool.end(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error("pool.end() did not finish: a connection was never released")),
            15_000,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      await Promise.allSettled([nats.stop(), database.drop()]);
    },
  };
}

export type MessagingFixture = Awaited<ReturnType<typeof messagingFixture>>;
