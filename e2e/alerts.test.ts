import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { listDeadLetters } from "@orderflow/messaging";
import { REPO_ROOT, SERVICE_NAMES, type System, startSystem } from "@orderflow/stack";
import { parse as parseYaml } from "yaml";
import { notified, postOrder, waitForOrder } from "./support/api.js";
import { asOperator } from "./support/operator.js";
import { type PrometheusHandle, startPrometheus } from "./support/prometheus.js";

/**
 * The alert rules evaluated for real: Debian's Prometheus scrapes the running
 * services with infra/prometheus/alerts.yml loaded, its expressions as written
 * and its `for:` durations divided by twelve (2m becomes 10 s: the scenario
 * proves that the services' metrics make each expression true; what a `for:`
 * does is promtool's unit tests' subject, alerts.test.yml), every second. First a healthy run, during which no
 * alert may even be pending; then each incident's signal, and each matching
 * alert must go pending (where it has a `for:`) and then fire. The first dead
 * letter of a consumer must fire DeadLetters: that needs every series to exist
 * from the start, at 0. Then every panel of the Grafana dashboard must return
 * data, and every metric the rules, the dashboard and docs/operations.md name must be
 * one the services export.
 */
const ACK_WAIT_MS = 5000;
const RULES = join(REPO_ROOT, "infra", "prometheus", "alerts.yml");
const DASHBOARD = join(REPO_ROOT, "infra", "grafana", "dashboards", "orderflow.json");

describe("alerts", () => {
  let system: System;
  let prometheus: PrometheusHandle;
  before(async () => {
    system = await startSystem({
      services: [...SERVICE_NAMES],
      // An order is stalled after 10 s: never on a healthy run, even on a loaded machine; behind the
      // slow payment consumer (8 s a message) within a few orders. inventory's AckWait is 5 s, so
      // that "not redelivered after an AckWait" is seconds of waiting.
      env: { order: { ORDER_STALLED_AFTER_MS: "10000" }, inventory: { CONSUMER_ACK_WAIT_MS: String(ACK_WAIT_MS) } },
    });
    const port = (name: (typeof SERVICE_NAMES)[number]) =>
      system.service(name).env[name === "gateway" ? "PORT" : "HTTP_PORT"];
    // Warm up before the first scrape: a service's first messages are slow (connections opened
    // inside the first transactions, code not yet optimized), and rate() over a window counts
    // only what its histograms observe after the first scrape. The healthy run then measures
    // the steady state, not the cold start.
    for (let i = 0; i < 3; i++) {
      const placed = await postOrder(system.gatewayUrl, {
        customerId: `warm-${i}`,
        items: [{ sku: "CB-001", quantity: 1 }],
      });
      assert.equal(placed.status, 201);
      await waitForOrder(system.gatewayUrl, placed.body.orderId as string, notified, 60_000);
    }
    prometheus = await startPrometheus(
      SERVICE_NAMES.map((name) => `127.0.0.1:${port(name)}`),
      { forDividedBy: 12 },
    );
  });
  after(async () => {
    await prometheus?.stop();
    await system?.stop();
  });

  const order = (n: number) =>
    postOrder(system.gatewayUrl, { customerId: `alerts-${n}`, items: [{ sku: "CB-001", quantity: 1 }] });

  it("when the system is healthy, then no alert is pending or firing", async () => {
    await waitForTargets(prometheus, SERVICE_NAMES.length);
    for (let i = 0; i < 6; i++) assert.equal((await order(i)).status, 201);
    // 20 evaluations with orders flowing and completing.
    for (let i = 0; i < 20; i++) {
      const active = await prometheus.alerts();
      assert.deepEqual(
        active.map((a) => `${a.labels.alertname}:${a.state}`),
        [],
        "no alert on a healthy run",
      );
      if (i % 4 === 0) await order(100 + i);
      await sleep(1000);
    }
  });

  it("when each incident's signal is caused, then its alert goes pending, then fires", async () => {
    // The signals: a slow payment consumer (the dark failure: slow, and orders stall on payment),
    // PlaceOrder acks slower than the gateway's 2 s deadline (the duplicate order's retries),
    // and one poison message (a dead letter).
    await Promise.all([
      restartWith(system, "payment", { FAULT_PAYMENT_SLOW_DB_MS: "8000" }),
      restartWith(system, "order", { FAULT_ORDER_SLOW_ACK_MS: "2500", FAULT_ORDER_SLOW_ACK_COUNT: "2" }),
    ]);
    const faultAt = Date.now();
    await asOperator(system.nats.url, ({ js }) =>
      js.publish("orders.order.placed", new Uint8Array([0x0a, 0xff, 0xff, 0xff]), { msgID: "alerts-poison-1" }),
    );

    const expected: Record<string, { hasFor: boolean }> = {
      DeadLetters: { hasFor: false },
      OrderAcksSlowerThanDeadline: { hasFor: false },
      OrdersStalled: { hasFor: true },
      ConsumerSlow: { hasFor: true },
    };
    const seen: Record<string, { pendingS?: number; firingS?: number }> = {};
    let n = 0;
    const deadline = Date.now() + 240_000;
    while (Date.now() < deadline) {
      for (const a of await prometheus.alerts()) {
        const name = a.labels.alertname as string;
        seen[name] ??= {};
        const entry = seen[name];
        const s = Math.round((Date.now() - faultAt) / 100) / 10;
        if (a.state === "pending") entry.pendingS ??= s;
        if (a.state === "firing") entry.firingS ??= s;
      }
      if (Object.keys(expected).every((name) => seen[name]?.firingS !== undefined)) break;
      // Orders keep arriving: they pile up behind the slow payment consumer.
      if (n < 40) void order(1000 + n++).catch(() => {});
      await sleep(1000);
    }
    for (const [name, e] of Object.entries(seen)) {
      console.log(
        `  ${name.padEnd(28)} pending after ${e.pendingS ?? "-"} s, firing after ${e.firingS ?? "-"} s (from the fault)`,
      );
    }
    for (const [name, { hasFor }] of Object.entries(expected)) {
      assert.ok(seen[name]?.firingS !== undefined, `${name} fired`);
      if (hasFor) assert.ok(seen[name]?.pendingS !== undefined, `${name} was pending before it fired`);
    }
    // The first dead letter fires it, within a few evaluations. (A series that first appears at 1
    // shows no increase(): it would not fire.)
    assert.ok(
      (seen.DeadLetters?.firingS ?? 99) < 20,
      `DeadLetters fired on the first dead letter: ${seen.DeadLetters?.firingS} s`,
    );
    const deadLetters = (await prometheus.alerts()).find((a) => a.labels.alertname === "DeadLetters");
    assert.equal(deadLetters?.labels.consumer, "inventory-order-placed", "the first dead letter of the consumer fired");
    // Two AckWaits after it, the poison message is still one dead letter: terminated for good,
    // not redelivered and dead-lettered again.
    await sleep(Math.max(0, faultAt + 2 * ACK_WAIT_MS + 2000 - Date.now()));
    assert.equal((await asOperator(system.nats.url, ({ jsm }) => listDeadLetters(jsm))).length, 1);
  });

  it("when every panel of the dashboard is queried, then each returns data", async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        const result = await prometheus.query(target.expr);
        assert.ok(result.length > 0, `panel "${panel.title}" shows no data: ${target.expr}`);
      }
    }
  });

  it("when the rules, the dashboard and docs/operations.md name a metric, then the services export it", async () => {
    const exported = new Set<string>();
    for (const name of SERVICE_NAMES) {
      const port = system.service(name).env[name === "gateway" ? "PORT" : "HTTP_PORT"];
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      for (const m of text.matchAll(/^# TYPE (\S+) /gm)) exported.add(m[1] as string);
    }
    const family = (name: string) => name.replace(/_(bucket|sum|count)$/, "");
    const named = (text: string) =>
      [...text.matchAll(/\b(?:consumer|outbox|orders|gateway)_[a-z0-9_]+\b/g)].map((m) => m[0]);

    const rules = parseYaml(readFileSync(RULES, "utf8")) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    const readme = readFileSync(join(REPO_ROOT, "docs", "operations.md"), "utf8");
    const metricsTable = readme.slice(
      readme.indexOf("| metric "),
      readme.indexOf("- **The caller sees where its order is**"),
    );
    const sources: [string, string[]][] = [
      ...rules.groups.flatMap((g) => g.rules.map((r): [string, string[]] => [`alert ${r.alert}`, named(r.expr)])),
      ...dashboard.panels.map((p): [string, string[]] => [
        `panel "${p.title}"`,
        (p.targets ?? []).flatMap((t) => named(t.expr)),
      ]),
      [
        "the metrics table of docs/operations.md",
        [...metricsTable.matchAll(/`([a-z_]+)(?:\{[^`]*\})?`/g)].map((m) => m[1] as string),
      ],
    ];
    for (const [where, names] of sources) {
      assert.ok(names.length > 0, `${where} names no metric`);
      for (const name of names)
        assert.ok(exported.has(family(name)), `${where} names ${name}, which no service exports`);
    }
  });
});

async function restartWith(system: System, name: "payment" | "order", env: Record<string, string>) {
  const proc = system.service(name);
  await proc.stop();
  await proc.start(env);
}

async function waitForTargets(prometheus: PrometheusHandle, count: number) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const up = await prometheus.query("up == 1");
    if (up.length >= count) return;
    await sleep(500);
  }
  throw new Error(`Prometheus does not scrape all ${count} services`);
}
