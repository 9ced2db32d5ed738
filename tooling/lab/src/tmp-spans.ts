import pg from "pg";
import { probes } from "./bench/sample.js";
import { mintTokens, prepare, startMeasuredSystem } from "./bench/start.js";
import { postOrder } from "./load.js";

const system = await startMeasuredSystem({});
const db = new pg.Pool({ connectionString: system.database.url, max: 2 });
await prepare(system, db);
const tokens = await mintTokens(system);
const p = probes(system, db);
const before = await p.statementsByService();
const spansBefore: Record<string, number> = {};
for (const n of ["order", "inventory", "payment", "notification"]) {
  const t = await fetch(`http://127.0.0.1:${system.service(n as never).env.HTTP_PORT}/metrics`).then((r) => r.text());
  spansBefore[n] = Number(/^otel_spans_ended_total\S* (\d+)/m.exec(t)?.[1]);
}
const gw = async () =>
  Number(
    /^otel_spans_ended_total\S* (\d+)/m.exec(await fetch(`${system.gatewayUrl}/metrics`).then((r) => r.text()))?.[1],
  );
const g0 = await gw();
const N = 200;
for (let i = 0; i < N; i += 10)
  await Promise.all(Array.from({ length: 10 }, (_, k) => postOrder(system.gatewayUrl, i + k, tokens)));
await new Promise((r) => setTimeout(r, 5000));
for (const n of ["order", "inventory", "payment", "notification"]) {
  const t = await fetch(`http://127.0.0.1:${system.service(n as never).env.HTTP_PORT}/metrics`).then((r) => r.text());
  console.log(n, (Number(/^otel_spans_ended_total\S* (\d+)/m.exec(t)?.[1]) - (spansBefore[n] ?? 0)) / N);
}
console.log("gateway", ((await gw()) - g0) / N, JSON.stringify(before));
await db.end();
await system.stop();
process.exit(0);
