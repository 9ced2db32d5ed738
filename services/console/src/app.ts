/**
 * The console's HTTP side: four pages (orders, one order, consumers, dead
 * letters) served as plain HTML shells that one small script (static/console.js)
 * fills from the JSON routes below, once a second; an OTLP/HTTP JSON receiver
 * for the waterfall; sign-in with an operator token.
 *
 * Safety: only an operator may look (the token's operator scope; a customer's
 * token gets 403, none gets the sign-in page); the token lives in an HttpOnly,
 * SameSite=Strict cookie and goes, as the operator's own credential, with
 * every call to the order service; state-changing calls also need the
 * `x-console` header (a cross-site form cannot send one); every answer carries
 * a Content-Security-Policy of `default-src 'self'` (no inline script, nothing
 * from elsewhere); payment tokens and bearer tokens are never shown.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { AuthError, AuthUnavailableError, type Caller, type Verifier } from "@orderflow/auth";
import { isGrpcError } from "@orderflow/contracts";
import type { Logger } from "@orderflow/logging";
import { DeadLetterTooOldError } from "@orderflow/messaging";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { page, signInPage } from "./pages.js";
import type { ConsumerRow, DeadLetters, Orders, OutboxRow } from "./sources.js";
import type { SpanBuffer } from "./span-buffer.js";

export const SESSION_COOKIE = "console_session";
const CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export interface ConsoleDeps {
  logger: Logger;
  verifier: Verifier;
  orders: Orders;
  consumers: () => Promise<ConsumerRow[]>;
  outboxes: () => Promise<OutboxRow[]>;
  deadLetters: DeadLetters;
  spans: SpanBuffer;
  jaegerUiUrl: string;
  readinessChecks?: Record<string, () => Promise<unknown>>;
}

const require = createRequire(import.meta.url);
const asset = (path: string) => readFileSync(new URL(`../static/${path}`, import.meta.url), "utf8");
const ASSETS: Record<string, { type: string; body: () => string }> = {
  "console.js": { type: "text/javascript", body: () => asset("console.js") },
  "console.css": { type: "text/css", body: () => asset("console.css") },
  "favicon.svg": { type: "image/svg+xml", body: () => asset("favicon.svg") },
  "uplot.js": {
    type: "text/javascript",
    body: () => readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8"),
  },
  "uplot.css": { type: "text/css", body: () => readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8") },
};

declare module "fastify" {
  interface FastifyRequest {
    operator?: { caller: Caller; token: string };
  }
}

function cookieOf(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return undefined;
}

export function buildConsole(deps: ConsoleDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: 16 * 1024 * 1024, // OTLP exports come in batches
  }) as unknown as FastifyInstance;
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  const assets = new Map(Object.entries(ASSETS).map(([k, v]) => [k, { type: v.type, body: v.body() }]));

  app.addHook("onSend", async (_request, reply) => {
    reply.header("Content-Security-Policy", CSP);
    reply.header("X-Content-Type-Options", "nosniff");
    reply.header("Referrer-Policy", "no-referrer");
    reply.header("Cache-Control", "no-store");
  });

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    const failed: Record<string, string> = {};
    for (const [name, check] of Object.entries(deps.readinessChecks ?? {})) {
      await check().catch((err: Error) => {
        failed[name] = err.message;
      });
    }
    return reply.code(Object.keys(failed).length ? 503 : 200).send({ ready: !Object.keys(failed).length, failed });
  });
  app.get<{ Params: { name: string } }>("/static/:name", async (request, reply) => {
    const a = assets.get(request.params.name);
    if (!a) return reply.code(404).send("not found");
    return reply.type(a.type).send(a.body);
  });

  // OTLP/HTTP, JSON encoding (the services export here under `pnpm start`): the waterfall's spans.
  app.post("/v1/traces", async (request, reply) => {
    if (!String(request.headers["content-type"] ?? "").startsWith("application/json")) {
      return reply.code(415).send({ error: "only OTLP/HTTP JSON: set OTEL_EXPORTER_OTLP_PROTOCOL=http/json" });
    }
    try {
      deps.spans.add(request.body);
    } catch (err) {
      return reply.code(400).send({ error: (err as Error).message });
    }
    return {};
  });

  app.get("/login", async (_req, reply) => reply.type("text/html").send(signInPage()));
  app.post<{ Body: { token?: string } }>("/login", async (request, reply) => {
    const token = String(request.body?.token ?? "").trim();
    try {
      const caller = await deps.verifier.verify(token);
      if (!caller.operator) {
        return reply
          .code(403)
          .type("text/html")
          .send(signInPage("This token is a customer's: the console needs an operator token (its operator scope)."));
      }
    } catch (err) {
      if (err instanceof AuthUnavailableError) {
        return reply
          .code(503)
          .type("text/html")
          .send(signInPage("Tokens cannot be verified right now (the issuer's keys are unavailable); try again."));
      }
      return reply
        .code(401)
        .type("text/html")
        .send(signInPage(`Not signed in: ${(err as Error).message}.`));
    }
    return reply
      .header("Set-Cookie", `${SESSION_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`)
      .redirect("/orders", 303);
  });
  app.post("/logout", async (_req, reply) =>
    reply
      .header("Set-Cookie", `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`)
      .redirect("/login", 303),
  );

  // Everything else: an operator only.
  app.register(async (ui) => {
    ui.addHook("onRequest", async (request, reply) => {
      const isApi = request.url.startsWith("/api/");
      const token = cookieOf(request, SESSION_COOKIE);
      if (!token) return isApi ? reply.code(401).send({ error: "sign in at /login" }) : reply.redirect("/login", 303);
      try {
        const caller = await deps.verifier.verify(token);
        if (!caller.operator) {
          return isApi
            ? reply.code(403).send({ error: "an operator token is needed" })
            : reply
                .code(403)
                .type("text/html")
                .send(signInPage("This token is a customer's: the console needs an operator token."));
        }
        request.operator = { caller, token };
      } catch (err) {
        if (err instanceof AuthUnavailableError) return reply.code(503).send({ error: err.message });
        if (err instanceof AuthError) {
          return isApi ? reply.code(401).send({ error: err.message }) : reply.redirect("/login", 303);
        }
        throw err;
      }
      if (request.method !== "GET" && request.headers["x-console"] !== "1") {
        return reply.code(403).send({ error: "state-changing calls need the x-console header" });
      }
    });
    const bearer = (request: FastifyRequest) => request.operator?.token ?? "";

    ui.get("/", async (_req, reply) => reply.redirect("/orders", 303));
    ui.get("/orders", async (_req, reply) => reply.type("text/html").send(page("orders", "Orders")));
    ui.get<{ Params: { id: string } }>("/orders/:id", async (request, reply) =>
      reply.type("text/html").send(page("order", "Order", { "order-id": request.params.id, jaeger: deps.jaegerUiUrl })),
    );
    ui.get("/consumers", async (_req, reply) => reply.type("text/html").send(page("consumers", "Consumers")));
    ui.get("/dead-letters", async (_req, reply) => reply.type("text/html").send(page("dead-letters", "Dead letters")));

    ui.get<{ Querystring: { status?: string } }>("/api/orders", async (request, reply) => {
      const status = request.query.status || undefined;
      if (status && !["PENDING", "CONFIRMED", "CANCELLED"].includes(status)) {
        return reply.code(400).send({ error: "status: PENDING, CONFIRMED or CANCELLED" });
      }
      const orders = await upstream(reply, () => deps.orders.latest(bearer(request), { status, limit: 50 }));
      return orders ? { orders } : reply;
    });
    ui.get<{ Params: { id: string } }>("/api/orders/:id", async (request, reply) => {
      const order = await upstream(reply, () => deps.orders.one(bearer(request), request.params.id));
      if (!order) return reply;
      return { order, trace: deps.spans.orderTrace(request.params.id) ?? null };
    });
    ui.get("/api/consumers", async () => {
      const [consumers, outboxes] = await Promise.all([deps.consumers(), deps.outboxes()]);
      return { at: Date.now(), consumers, outboxes };
    });
    ui.get("/api/dead-letters", async () => ({ deadLetters: await deps.deadLetters.list() }));
    ui.post<{ Params: { seq: string } }>("/api/dead-letters/:seq/redrive", async (request, reply) => {
      const seq = Number(request.params.seq);
      if (!Number.isInteger(seq) || seq < 1) return reply.code(400).send({ error: "seq: a positive whole number" });
      try {
        await deps.deadLetters.redrive(seq);
      } catch (err) {
        // Too old to redrive safely (past the inbox's window): 409 with the reason; otherwise not there.
        return reply.code(err instanceof DeadLetterTooOldError ? 409 : 404).send({ error: (err as Error).message });
      }
      request.log.info({ seq, operator: request.operator?.caller.subject }, "dead letter redriven from the console");
      return { redriven: [seq] };
    });
    ui.post("/api/dead-letters/redrive-all", async (request) => {
      const n = await deps.deadLetters.redriveAll();
      request.log.info(
        { n, operator: request.operator?.caller.subject },
        "every dead letter redriven from the console",
      );
      return { redriven: n };
    });
  });
  return app;
}

/** A call to the order service, its refusals passed on (NOT_FOUND -> 404, INVALID_ARGUMENT -> 400, ...). */
async function upstream<T>(reply: FastifyReply, call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    if (!isGrpcError(err)) throw err;
    const status = ({ 3: 400, 5: 404, 7: 403, 16: 401, 14: 503, 4: 504 } as Record<number, number>)[err.code] ?? 502;
    reply.code(status).send({ error: err.details || err.message });
    return undefined;
  }
}
