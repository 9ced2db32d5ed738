/**
 * The faults of a chaos run, on a schedule, each logged with its time:
 * kill -9 of every service in turn (the supervisor restarts it), kill -9 of
 * nats-server and a restart on the same store, and an immediate stop of
 * Postgres (every connection aborted) and a start. The cycle repeats while
 * the load runs.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ServiceName, System } from "@orderflow/stack";

export interface Fault {
  name: string;
  inject(system: System): Promise<void>;
}

const killService = (name: ServiceName, replica = 1): Fault => ({
  name: replica === 1 ? `kill -9 ${name}` : `kill -9 ${name}-${replica}`,
  inject: (system) => system.replica(name, replica).kill(),
});

/** With two replicas of everything: one replica of each service killed in turn; its twin carries on. */
export const REPLICA_FAULTS: Fault[] = (["order", "inventory", "payment", "notification", "gateway"] as const).map(
  (name) => killService(name, 2),
);

export const FAULT_CYCLE: Fault[] = [
  killService("order"),
  killService("inventory"),
  {
    name: "kill -9 nats-server, restart after 2 s on the same store",
    async inject(system) {
      await system.nats.crash();
      await sleep(2000);
      await system.nats.resume();
    },
  },
  killService("payment"),
  {
    name: "Postgres stop -m immediate, start after 3 s",
    async inject(system) {
      if (!system.postgres) throw new Error("the Postgres fault needs the system's own server (postgres: private)");
      await system.postgres.stop("immediate");
      await sleep(3000);
      await system.postgres.start();
    },
  },
  killService("notification"),
  killService("gateway"),
];

export interface FaultLogEntry {
  at: Date;
  atMs: number;
  fault: string;
  tookMs: number;
}

/** Injects the cycle's faults `everyMs` apart until `until()` is true; at least one full cycle. */
export async function runFaultSchedule(
  system: System,
  {
    faults = FAULT_CYCLE,
    repeat = true,
    everyMs,
    until,
    log,
  }: {
    faults?: Fault[];
    /** Repeat the cycle while the load runs (default); false: each fault once. */
    repeat?: boolean;
    everyMs: number;
    until: () => boolean;
    log: (entry: FaultLogEntry) => void;
  },
): Promise<FaultLogEntry[]> {
  const started = Date.now();
  const entries: FaultLogEntry[] = [];
  for (let i = 0; i < faults.length || (repeat && !until()); i++) {
    await sleep(everyMs);
    const fault = faults[i % faults.length] as Fault;
    const at = Date.now();
    await fault.inject(system);
    const entry = { at: new Date(at), atMs: at - started, fault: fault.name, tookMs: Date.now() - at };
    entries.push(entry);
    log(entry);
  }
  return entries;
}
