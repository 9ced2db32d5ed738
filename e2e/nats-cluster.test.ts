import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { Fault, FaultLogEntry } from "@orderflow/lab/chaos";
import { formatReport, runChaos } from "@orderflow/lab/chaos";
import type { System } from "@orderflow/stack";
import type pg from "pg";
import { asOperator } from "./support/operator.js";

/**
 * Orders through a three-node JetStream cluster with R3 streams. Under load:
 * the ORDERS stream's leader is killed with kill -9; later another node is
 * paused with SIGSTOP for 10 s and resumed; then the killed node restarts on
 * its store and catches up. Every accepted order completes exactly once (the
 * chaos invariants), and the scenario prints how long publishing (outbox rows
 * acknowledged by JetStream) and consuming (inbox records) stalled at each fault.
 */
const withJsm = <T>(system: System, fn: (jsm: JetStreamManager) => Promise<T>) =>
  asOperator(system.nats.url, ({ jsm }) => fn(jsm));

const cluster = (system: System) => {
  if (!system.natsCluster) throw new Error("this scenario needs natsCluster");
  return system.natsCluster;
};

let killed = "";
const FAULTS: Fault[] = [
  {
    name: "kill -9 the ORDERS stream leader",
    async inject(system) {
      killed = (await withJsm(system, (jsm) => jsm.streams.info("ORDERS"))).cluster?.leader ?? "";
      await cluster(system).node(killed).kill();
    },
  },
  {
    name: "SIGSTOP another node for 10 s, then SIGCONT",
    async inject(system) {
      const other = cluster(system).nodes.find((n) => n.name !== killed);
      other?.pause();
      await sleep(10_000);
      other?.resume();
    },
  },
  {
    name: "restart the killed node on its store",
    inject: (system) => cluster(system).node(killed).start(),
  },
];

/**
 * How long after the fault the first event went through (published, or handled): the stall.
 * With none before the next fault (or 60 s), the whole interval: ">= N".
 */
async function stall(db: pg.Pool, union: string, from: Date, to: Date): Promise<string> {
  const { rows } = await db.query<{ ms: number | null }>(
    `SELECT extract(epoch FROM min(t) - $1::timestamptz) * 1000 AS ms FROM (${union}) x
      WHERE t > $1 AND t <= least($2::timestamptz, $1 + interval '60 seconds')`,
    [from, to],
  );
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined
    ? `>= ${Math.min(60_000, to.getTime() - from.getTime())}`
    : String(Math.round(Number(ms)));
}
const SCHEMAS = ["orders", "inventory", "payments", "notifications"];
const published = SCHEMAS.map((s) => `SELECT published_at AS t FROM "${s}".outbox WHERE published_at IS NOT NULL`).join(
  " UNION ALL ",
);
const consumed = SCHEMAS.map((s) => `SELECT processed_at AS t FROM "${s}".inbox`).join(" UNION ALL ");

describe("nats-cluster", () => {
  it("when the stream leader is killed and another node is paused under load, then every order completes exactly once", async () => {
    const report = await runChaos({
      orders: 180,
      ratePerSecond: 6,
      natsCluster: true,
      faults: FAULTS,
      repeatFaults: false,
      faultEveryMs: 6000,
      log: (line) => console.log(`  ${line}`),
      afterDrain: async (system, db, faults: FaultLogEntry[]) => {
        const stalls = [];
        for (const [i, f] of faults.entries()) {
          const next = faults[i + 1]?.at ?? new Date(f.at.getTime() + 60_000);
          stalls.push({
            fault: f.fault,
            publishingStalledMs: await stall(db, published, f.at, next),
            consumingStalledMs: await stall(db, consumed, f.at, next),
          });
        }
        // The restarted node caught up: every replica of every stream is current.
        const lagging = await withJsm(system, async (jsm) => {
          const out: string[] = [];
          for (const name of ["ORDERS", "INVENTORY", "PAYMENTS", "NOTIFICATIONS"]) {
            const info = await jsm.streams.info(name);
            for (const r of info.cluster?.replicas ?? []) if (!r.current) out.push(`${name}@${r.name}`);
            if ((info.cluster?.replicas ?? []).length !== 2)
              out.push(`${name}: ${info.cluster?.replicas?.length} replicas`);
          }
          return out;
        });
        return { stalls, lagging };
      },
    });
    console.log(formatReport(report).replace(/^/gm, "  "));
    for (const s of report.extra.stalls as {
      fault: string;
      publishingStalledMs: string;
      consumingStalledMs: string;
    }[]) {
      console.log(
        `  ${s.fault}: first publish after ${s.publishingStalledMs} ms, first handled event after ${s.consumingStalledMs} ms`,
      );
    }
    assert.equal(report.faults.length, 3);
    assert.deepEqual(report.violations, []);
    assert.deepEqual(report.extra.lagging, [], "the restarted node caught up on every stream");
  });
});
