/**
 * The load stage's steps, each a load and the samples around it:
 * closed-loop levels, the sustained-rate search, latencies under an open
 * loop, and the overload run.
 */
import { percentile, round } from "../load.js";
import { closedLoop, openLoop, type Post } from "./loads.js";
import { cpuMsPer, type Probes, p } from "./sample.js";

export interface Level {
  clients: number;
  acceptedPerS: number;
  p50: number;
  p99: number;
  completedPerS: number;
  backlogAtEnd: number;
  refused: number;
  statuses: Record<string, number>;
  /** Accepted per s in the level's first 10 s: a burst into a system that had drained before it. */
  burstAcceptedPerS: number;
}

export interface Profile {
  cpuMsPerOrder: Record<string, number>;
  commitsPerSaga: number;
  /** Statements sent to Postgres per completed saga, BEGIN and COMMIT included: one round trip each. */
  statementsPerSaga: number;
  statementsPerSagaByService: Record<string, number>;
  spansPerSaga: number;
  loadGenCpuMsPerOrder: number;
}

/** Closed-loop load at each level; the profile (CPU, commits) is the best level's. */
export async function closedLevels(post: Post, probe: Probes, levelsClients: number[], seconds: number) {
  const levels: Level[] = [];
  let profile: Profile = {
    cpuMsPerOrder: {},
    commitsPerSaga: 0,
    statementsPerSaga: 0,
    statementsPerSagaByService: {},
    spansPerSaga: 0,
    loadGenCpuMsPerOrder: 0,
  };
  for (const clients of levelsClients) {
    const cpu0 = probe.cpu();
    const me0 = process.cpuUsage();
    const commits0 = await probe.commits();
    const statements0 = await probe.statements();
    const byService0 = await probe.statementsByService();
    const spans0 = await probe.spans();
    const final0 = await probe.finalOrders();
    const r = await closedLoop(post, clients, seconds);
    const final1 = await probe.finalOrders();
    const backlog = await probe.pending();
    await probe.drained();
    const cpu1 = probe.cpu();
    const me1 = process.cpuUsage(me0);
    const completedAll = (await probe.finalOrders()) - final0;
    const commits1 = await probe.commits();
    const statements1 = await probe.statements();
    const byService1 = await probe.statementsByService();
    const spans1 = await probe.spans();
    // The best level so far (compared before this one is added): its profile is the one reported.
    const isBest = levels.every((l) => r.accepted / r.seconds >= l.acceptedPerS);
    levels.push({
      clients,
      acceptedPerS: round(r.accepted / r.seconds),
      p50: round(percentile(r.latencies, 50)),
      p99: round(percentile(r.latencies, 99)),
      completedPerS: round((final1 - final0) / r.seconds),
      backlogAtEnd: backlog,
      refused: r.refused,
      statuses: r.statuses,
      burstAcceptedPerS: round(r.acceptedInFirst10s / Math.min(10, r.seconds)),
    });
    if (isBest) {
      profile = {
        cpuMsPerOrder: cpuMsPer(cpu0, cpu1, r.accepted),
        commitsPerSaga: round((commits1 - commits0) / Math.max(1, completedAll), 1),
        statementsPerSaga: round((statements1 - statements0) / Math.max(1, completedAll), 1),
        statementsPerSagaByService: Object.fromEntries(
          Object.entries(byService1).map(([service, n]) => [
            service,
            round((n - (byService0[service] ?? 0)) / Math.max(1, completedAll), 2),
          ]),
        ),
        spansPerSaga: round((spans1 - spans0) / Math.max(1, completedAll), 1),
        loadGenCpuMsPerOrder: round((me1.user + me1.system) / 1000 / r.accepted, 2),
      };
    }
    console.log(`  ${clients} clients: ${JSON.stringify(levels.at(-1))}`);
  }
  return { levels, profile };
}

/**
 * The sustained rate: the highest open-loop rate the system completes without
 * its backlog growing (at the end, no more than one second of its work is
 * pending). Starts from the best completion rate seen under closed-loop load,
 * steps up by a quarter while it holds, down by a fifth until it holds; six
 * tries at most.
 */
export async function sustainedRate(post: Post, probe: Probes, startRate: number, seconds: number) {
  let sustained = 0;
  const tried: { ratePerS: number; completedPerS: number; backlogAtEnd: number }[] = [];
  let rate = Math.max(1, Math.floor(startRate));
  for (let i = 0; i < 6; i++) {
    const before = await probe.finalOrders();
    await openLoop(post, rate, seconds);
    const backlog = await probe.pending();
    const completed = round(((await probe.finalOrders()) - before) / seconds);
    tried.push({ ratePerS: rate, completedPerS: completed, backlogAtEnd: backlog });
    await probe.drained();
    const held = backlog <= rate;
    if (held) sustained = Math.max(sustained, completed);
    else if (sustained) break; // the step up failed: the last rate that held is the answer
    rate = held ? Math.ceil(rate * 1.25) : Math.max(1, Math.floor(rate * 0.8));
  }
  console.log(`  sustained search: ${JSON.stringify(tried)}`);
  return sustained;
}

/** Latencies under an open loop at `ratePerS`: POST, placed-to-final, relay and consumer lag; commits per saga. */
export async function latenciesAt(post: Post, probe: Probes, ratePerS: number, seconds: number) {
  const since = new Date();
  const finalBefore = await probe.finalOrders();
  const commitsBefore = await probe.commits();
  const statementsBefore = await probe.statements();
  const spansBefore = await probe.spans();
  const open = await openLoop(post, ratePerS, seconds);
  const backlogAtEnd = await probe.pending();
  const completedPerS = round(((await probe.finalOrders()) - finalBefore) / seconds);
  await probe.drained();
  const completed = Math.max(1, (await probe.finalOrders()) - finalBefore);
  const commitsPerSaga = round(((await probe.commits()) - commitsBefore) / completed, 1);
  const statementsPerSaga = round(((await probe.statements()) - statementsBefore) / completed, 1);
  const spansPerSaga = round(((await probe.spans()) - spansBefore) / completed, 1);
  const sagas = await probe.placedToFinal(since);
  const relay = await probe.relayLags(since);
  const consumed = await probe.consumerLags(since);
  return {
    ratePerS,
    postP50: p(open.latencies, 50),
    postP99: p(open.latencies, 99),
    placedToFinalP50: p(sagas, 50),
    placedToFinalP99: p(sagas, 99),
    relayLagP50: p(relay, 50),
    relayLagP99: p(relay, 99),
    consumerLagP50: p(consumed, 50),
    consumerLagP99: p(consumed, 99),
    failed: open.failed,
    completedPerS,
    backlogAtEnd,
    commitsPerSaga,
    statementsPerSaga,
    spansPerSaga,
  };
}
export type Latencies = Awaited<ReturnType<typeof latenciesAt>>;

/**
 * Overload: an open loop at four times the sustained rate. Admission control
 * should keep completing at the sustained rate, refuse the rest with
 * Retry-After, and never let an accepted order wait long.
 */
export async function overload(post: Post, probe: Probes, sustained: number, seconds: number, bound: string) {
  const ratePerS = Math.max(2, Math.ceil(sustained * 4));
  const since = new Date();
  const finalBefore = await probe.finalOrders();
  const started = performance.now();
  const over = await openLoop(post, ratePerS, seconds);
  const took = (performance.now() - started) / 1000;
  const completed = (await probe.finalOrders()) - finalBefore;
  const drainStarted = performance.now();
  await probe.drained(300_000);
  const waits = await probe.placedToFinal(since);
  const result = {
    ratePerS,
    seconds,
    sent: Math.floor(ratePerS * seconds),
    accepted: over.accepted,
    refused: over.refused,
    otherErrors: over.otherErrors,
    statuses: over.statuses,
    completedPerS: round(completed / took),
    completedOfSustained: round((completed / took / Math.max(1, sustained)) * 100, 0),
    drainAfterS: round((performance.now() - drainStarted) / 1000),
    placedToFinalMaxMs: round(Math.max(0, ...waits)),
    admissionBound: bound,
  };
  console.log(`  overload: ${JSON.stringify(result)}`);
  return result;
}
export type Overload = Awaited<ReturnType<typeof overload>>;
