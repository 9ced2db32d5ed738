// The console's one script: fills the page from the console's JSON, once a second.
// Plain DOM (textContent, never innerHTML with data), no build step, no framework.

const app = document.getElementById("app");
const statusLine = document.getElementById("status");

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

async function api(path, options = {}) {
  const res = await fetch(path, {
    credentials: "same-origin",
    ...options,
    headers: {
      ...(options.method && options.method !== "GET" ? { "x-console": "1" } : {}),
      ...(options.headers || {}),
    },
  });
  if (res.status === 401) {
    location.href = "/login";
    throw new Error("signed out");
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  return body;
}

function say(text, isError) {
  statusLine.textContent = text;
  statusLine.className = isError ? "error" : "muted";
}

function duration(ms) {
  if (ms === null || ms === undefined) return "";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60000)} min`;
}

function badge(status) {
  return el("span", { class: `badge status-${status}` }, status);
}

function every(ms, fn) {
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    try {
      await fn();
    } catch (err) {
      say(`not updated: ${err.message}`, true);
    }
    setTimeout(tick, ms);
  };
  tick();
  return () => {
    stopped = true;
  };
}

function replaceChildren(node, children) {
  node.replaceChildren(...children);
}

// ------------------------------------------------------------------ orders
function ordersPage() {
  const filter = el(
    "select",
    { id: "status-filter", "aria-label": "status" },
    el("option", { value: "" }, "every status"),
    el("option", { value: "PENDING" }, "pending"),
    el("option", { value: "CONFIRMED" }, "confirmed"),
    el("option", { value: "CANCELLED" }, "cancelled"),
  );
  const search = el("input", { id: "search", placeholder: "order id", size: 38, "aria-label": "order id" });
  const go = el("button", { id: "search-go", type: "submit" }, "Open");
  const form = el("form", { class: "controls" }, filter, " ", search, " ", go);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const id = search.value.trim();
    if (id) location.href = `/orders/${encodeURIComponent(id)}`;
  });
  const tbody = el("tbody");
  const table = el(
    "table",
    { id: "orders" },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ["order", "customer", "status", "waits on", "for", "", "placed"].map((h) => el("th", {}, h)),
      ),
    ),
    tbody,
  );
  app.append(form, table);
  const refresh = async () => {
    const { orders } = await api(`/api/orders${filter.value ? `?status=${filter.value}` : ""}`);
    replaceChildren(
      tbody,
      orders.map((o) =>
        el(
          "tr",
          { "data-order-id": o.orderId, "data-status": o.status },
          el("td", {}, el("a", { href: `/orders/${o.orderId}` }, o.orderId)),
          el("td", {}, o.customerId),
          el("td", {}, badge(o.status)),
          el("td", { class: "waiting-on" }, o.waitingOn || ""),
          el("td", {}, duration(o.waitingForMs)),
          el("td", {}, o.stalled ? el("span", { class: "badge stalled" }, "stalled") : ""),
          el("td", { class: "muted" }, o.createdAt ? new Date(o.createdAt).toLocaleTimeString() : ""),
        ),
      ),
    );
    say(`${orders.length} most recent orders, updated ${new Date().toLocaleTimeString()}`);
  };
  filter.addEventListener("change", () => refresh().catch((err) => say(err.message, true)));
  every(1000, refresh);
}

// ------------------------------------------------------------------ one order
function orderPage() {
  const id = app.dataset.orderId;
  const jaeger = app.dataset.jaeger;
  const summary = el("div", { id: "summary" });
  const timeline = el("ol", { id: "timeline" });
  const waterfall = el("div", { id: "waterfall" });
  const traceLine = el("p", { class: "muted", id: "trace" });
  app.append(summary, el("h2", {}, "Timeline"), timeline, el("h2", {}, "Trace"), traceLine, waterfall);
  every(1000, async () => {
    const { order, trace } = await api(`/api/orders/${encodeURIComponent(id)}`);
    replaceChildren(summary, [
      el(
        "p",
        {},
        el("code", {}, order.orderId),
        " ",
        el("span", { id: "order-status" }, badge(order.status)),
        ` customer ${order.customerId}`,
        order.totalCents !== null ? `, total ${(order.totalCents / 100).toFixed(2)}` : "",
      ),
      order.waitingOn
        ? el(
            "p",
            { id: "waiting" },
            `waits on ${order.waitingOn} for ${duration(order.waitingForMs)} `,
            order.stalled ? el("span", { class: "badge stalled" }, "stalled") : "",
          )
        : "",
      order.cancelReason ? el("p", { class: "error" }, order.cancelReason) : "",
    ]);
    replaceChildren(
      timeline,
      order.timeline.map((t) =>
        el(
          "li",
          { "data-step": t.step },
          el("strong", {}, t.step),
          ` ${t.at ? new Date(t.at).toLocaleTimeString() : ""} `,
          t.detail || "",
        ),
      ),
    );
    if (!trace || trace.spans.length === 0) {
      traceLine.textContent =
        "no spans received for this order yet (the services export to this console under pnpm start)";
      waterfall.replaceChildren();
      return;
    }
    const start = Math.min(...trace.spans.map((s) => s.startMs));
    const end = Math.max(...trace.spans.map((s) => s.endMs));
    const total = Math.max(1, end - start);
    const services = [...new Set(trace.spans.map((s) => s.service))];
    replaceChildren(traceLine, [
      `trace ${trace.traceId}: ${trace.spans.length} spans from ${services.length} services (${services.join(", ")}) over ${total} ms `,
      jaeger ? el("a", { href: `${jaeger}/trace/${trace.traceId}`, rel: "noreferrer" }, "open in Jaeger") : "",
    ]);
    replaceChildren(
      waterfall,
      trace.spans.map((s) => {
        const bar = el("span", { class: `bar svc-${s.service}${s.error ? " failed" : ""}` });
        bar.style.marginLeft = `${((s.startMs - start) / total) * 100}%`;
        bar.style.width = `${Math.max(0.3, ((s.endMs - s.startMs) / total) * 100)}%`;
        return el(
          "div",
          { class: "span-row", "data-service": s.service },
          el("span", { class: "span-label" }, el("strong", {}, s.service), ` ${s.name}`),
          el("span", { class: "span-track" }, bar),
          el("span", { class: "span-ms" }, `${s.endMs - s.startMs} ms`),
        );
      }),
    );
    say(`updated ${new Date().toLocaleTimeString()}`);
  });
}

// ------------------------------------------------------------------ consumers
function consumersPage() {
  const consumerBody = el("tbody");
  const outboxBody = el("tbody");
  const consumerChart = el("div", { id: "consumer-chart", class: "chart" });
  const outboxChart = el("div", { id: "outbox-chart", class: "chart" });
  app.append(
    el("h2", {}, "Consumers: messages waiting (pending + ack pending)"),
    consumerChart,
    el(
      "table",
      { id: "consumers" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ["service", "consumer", "stream", "pending", "ack pending", "redelivered"].map((h) => el("th", {}, h)),
        ),
      ),
      consumerBody,
    ),
    el("h2", {}, "Outboxes: rows not yet published"),
    outboxChart,
    el(
      "table",
      { id: "outboxes" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ["service", "pending rows", "oldest (s)"].map((h) => el("th", {}, h)),
        ),
      ),
      outboxBody,
    ),
  );
  const history = { at: [], consumers: {}, outboxes: {} };
  let charts;
  const WINDOW = 120;
  const makeChart = (node, names) =>
    new uPlot(
      {
        width: Math.min(900, document.body.clientWidth - 40),
        height: 180,
        series: [{}, ...names.map((n, i) => ({ label: n, stroke: `hsl(${(i * 47) % 360} 60% 45%)`, width: 1.5 }))],
        axes: [{}, { size: 50 }],
        // The last two minutes, whatever the number of points so far.
        scales: { x: { time: true, range: (_u, _min, max) => [max - WINDOW, max] } },
        legend: { show: true },
      },
      [[], ...names.map(() => [])],
      node,
    );
  every(1000, async () => {
    const data = await api("/api/consumers");
    const t = data.at / 1000;
    history.at.push(t);
    const push = (series, name, value) => {
      if (!series[name]) series[name] = [];
      series[name].push(value);
    };
    for (const c of data.consumers) push(history.consumers, c.durable, (c.pending ?? 0) + (c.ackPending ?? 0));
    for (const o of data.outboxes) push(history.outboxes, o.service, o.pending ?? 0);
    if (history.at.length > WINDOW) {
      history.at.shift();
      for (const k of Object.keys(history.consumers)) history.consumers[k].shift();
      for (const k of Object.keys(history.outboxes)) history.outboxes[k].shift();
    }
    const cNames = data.consumers.map((c) => c.durable);
    const oNames = data.outboxes.map((o) => o.service);
    if (typeof uPlot !== "undefined") {
      charts ||= { c: makeChart(consumerChart, cNames), o: makeChart(outboxChart, oNames) };
      charts.c.setData([history.at, ...cNames.map((n) => history.consumers[n])]);
      charts.o.setData([history.at, ...oNames.map((n) => history.outboxes[n])]);
    }
    const cell = (v) => el("td", { class: "num" }, v === null || v === undefined ? "?" : String(v));
    replaceChildren(
      consumerBody,
      data.consumers.map((c) =>
        el(
          "tr",
          { "data-durable": c.durable, "data-pending": (c.pending ?? 0) + (c.ackPending ?? 0) },
          el("td", {}, c.service),
          el("td", {}, c.durable),
          el("td", {}, c.stream),
          cell(c.pending),
          cell(c.ackPending),
          cell(c.redelivered),
        ),
      ),
    );
    replaceChildren(
      outboxBody,
      data.outboxes.map((o) =>
        el(
          "tr",
          { "data-service": o.service },
          el("td", {}, o.service),
          cell(o.pending),
          cell(o.oldestAgeS === null ? null : o.oldestAgeS.toFixed(1)),
        ),
      ),
    );
    say(`updated ${new Date(data.at).toLocaleTimeString()}; "?": not answering`);
  });
}

// ------------------------------------------------------------------ dead letters
function deadLettersPage() {
  const all = el("button", { id: "redrive-all", type: "button" }, "Redrive all");
  const list = el("div", { id: "dead-letters" });
  app.append(el("p", {}, all), list);
  const redrive = async (path) => {
    await api(path, { method: "POST" });
    await refresh();
  };
  all.addEventListener("click", () => redrive("/api/dead-letters/redrive-all").catch((err) => say(err.message, true)));
  const refresh = async () => {
    const { deadLetters } = await api("/api/dead-letters");
    const byReason = new Map();
    for (const d of deadLetters) byReason.set(d.reason, [...(byReason.get(d.reason) || []), d]);
    replaceChildren(
      list,
      [...byReason.entries()].map(([reason, letters]) =>
        el(
          "section",
          { class: "reason" },
          el("h2", {}, `${reason || "(no reason)"} `, el("span", { class: "muted" }, `${letters.length}`)),
          letters.map((d) =>
            el(
              "article",
              { class: "dead-letter", "data-seq": d.seq },
              el(
                "p",
                {},
                el("strong", {}, d.consumer),
                ` on ${d.originalSubject}, ${d.deliveryCount} deliveries, dead-lettered ${new Date(d.time).toLocaleString()} `,
                el(
                  "button",
                  {
                    type: "button",
                    class: "redrive",
                    "data-seq": d.seq,
                    onclick: () => redrive(`/api/dead-letters/${d.seq}/redrive`).catch((err) => say(err.message, true)),
                  },
                  "Redrive",
                ),
              ),
              el("details", {}, el("summary", {}, "headers"), el("pre", {}, JSON.stringify(d.headers, null, 2))),
              el(
                "details",
                { open: true },
                el("summary", {}, "payload"),
                el("pre", { class: "payload" }, JSON.stringify(d.payload, null, 2)),
              ),
            ),
          ),
        ),
      ),
    );
    all.disabled = deadLetters.length === 0;
    say(deadLetters.length ? `${deadLetters.length} dead letters` : "no dead letters");
  };
  every(2000, refresh);
}

({ orders: ordersPage, order: orderPage, consumers: consumersPage, "dead-letters": deadLettersPage })[
  app.dataset.page
]();
