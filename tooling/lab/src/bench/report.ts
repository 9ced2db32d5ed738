/** The report stage: a table for people, then one JSON line for tools. */
import type { ServiceName } from "@orderflow/stack";
import { round } from "../load.js";
import type { Ceiling } from "./ceiling.js";
import type { Latencies, Level, Overload, Profile } from "./steps.js";

export interface BenchResult {
  ceiling: Ceiling;
  levels: Level[];
  maxAcceptedPerS: number;
  sustainedCompletedPerS: number;
  atHalf: Latencies;
  atHalfSustained: Latencies;
  profile: Profile;
  batchSizes: Record<string, number>;
  overload: Overload;
  idleRss: Record<ServiceName, number>;
  verifyUsPerToken: number;
}

const list = (o: Record<string, number>) =>
  Object.entries(o)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");

const latencyLine = (l: Latencies) =>
  `${l.completedPerS} completed/s, backlog ${l.backlogAtEnd}; POST p50 ${l.postP50} / p99 ${l.postP99} ms; placed-to-final p50 ${l.placedToFinalP50} / p99 ${l.placedToFinalP99} ms; relay lag p50 ${l.relayLagP50} / p99 ${l.relayLagP99} ms; consumer lag p50 ${l.consumerLagP50} / p99 ${l.consumerLagP99} ms`;

export function report(r: BenchResult) {
  const ratios = {
    acceptedOfCeiling: round((r.maxAcceptedPerS / r.ceiling.orderOutboxTps) * 100, 2),
    sustainedOfCeiling: round((r.sustainedCompletedPerS / r.ceiling.orderOutboxTps) * 100, 2),
  };
  const o = r.overload;
  const rows: [string, string][] = [
    ["ceiling: pgbench order+outbox (8 clients)", `${round(r.ceiling.orderOutboxTps, 0)} TPS`],
    ["ceiling: the same with pg_notify", `${round(r.ceiling.withNotifyTps, 0)} TPS`],
    ...r.levels.map((l): [string, string] => [
      `closed loop, ${l.clients} clients`,
      `${l.acceptedPerS} accepted/s (POST p50 ${l.p50} ms, p99 ${l.p99} ms), ${l.completedPerS} completed/s, backlog ${l.backlogAtEnd}, ${l.refused} refused, not 201: ${JSON.stringify(l.statuses)}`,
    ]),
    ["max accepted orders/s", `${r.maxAcceptedPerS} (${ratios.acceptedOfCeiling} % of the ceiling; target >= 25 %)`],
    (() => {
      const top = r.levels.reduce((a, b) => (b.clients > a.clients ? b : a));
      return [
        `burst: the first 10 s of ${top.clients} clients`,
        `${top.burstAcceptedPerS} accepted/s (${round((top.burstAcceptedPerS / r.ceiling.orderOutboxTps) * 100, 2)} % of the ceiling; target >= 25 %), admission bound ${o.admissionBound}`,
      ] as [string, string];
    })(),
    [
      "sustained completed sagas/s",
      `${r.sustainedCompletedPerS} (${ratios.sustainedOfCeiling} % of the ceiling; target >= 8 %)`,
    ],
    [`at half the maximum (${r.atHalf.ratePerS}/s, open loop)`, latencyLine(r.atHalf)],
    [`at half the sustained rate (${r.atHalfSustained.ratePerS}/s)`, latencyLine(r.atHalfSustained)],
    [
      "Postgres commits per completed saga",
      `${r.atHalfSustained.commitsPerSaga} at half the sustained rate, ${r.profile.commitsPerSaga} at the best closed-loop level (target <= 3)`,
    ],
    [
      "Postgres statements (round trips) per completed saga",
      `${r.atHalfSustained.statementsPerSaga} at half the sustained rate, ${r.profile.statementsPerSaga} at the best closed-loop level`,
    ],
    [
      "spans per completed saga",
      `${r.atHalfSustained.spansPerSaga} at half the sustained rate, ${r.profile.spansPerSaga} at the best closed-loop level`,
    ],
    ["mean batch size per consumer", list(r.batchSizes)],
    [
      `overload: ${o.ratePerS}/s for ${o.seconds} s (4x sustained)`,
      `${o.completedPerS} completed/s (${o.completedOfSustained} % of sustained; target >= 90 %), ${o.accepted} accepted, ${o.refused} refused with Retry-After, ${o.otherErrors} other 5xx or no answer (target 0); every accepted order final ${o.drainAfterS} s after the load, longest placed-to-final ${o.placedToFinalMaxMs} ms (target <= 30 s); admission bound ${o.admissionBound}`,
    ],
    ["CPU ms per accepted order", `${list(r.profile.cpuMsPerOrder)}, load generator ${r.profile.loadGenCpuMsPerOrder}`],
    [
      "caller verification (ES256 JWT, jose)",
      `${r.verifyUsPerToken} µs of CPU per uncached verification, in this process (a gauge of the machine's speed this hour); the gateway and the order service each verify a token once per minute and remember it`,
    ],
    ["idle RSS (MB)", list(r.idleRss)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\n${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n")}\n`);
  console.log(JSON.stringify({ ...r, ratios }));
}
