/**
 * Who is calling, against the real services: every /api/v1 call needs a bearer
 * token the gateway verifies (and the order service verifies again); each bad
 * credential is refused with a 4xx before any lookup, never a 5xx; the JWKS
 * being away is a 503 only for a verifier that never had the keys; a
 * customer sees and replays only their own orders; no token is written
 * anywhere (outboxes, streams, dead letters, logs, spans).
 *
 *   pnpm e2e auth
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";
import { describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { jetstreamManager } from "@nats-io/jetstream";
import { generateSigningKey } from "@orderflow/auth";
import { AUTHORIZATION_METADATA_KEY, createGrpcClient, OrderService } from "@orderflow/contracts";
import { connectNats } from "@orderflow/process";
import { NATS_USERS, waitFor } from "@orderflow/stack";
import { base64url, importJWK, type JWTPayload, SignJWT } from "jose";
import { notified, waitForOrder } from "./support/api.js";
import { openDatabase } from "./support/database.js";
import { systemForSuite } from "./support/system.js";

/** Short JWKS cooldown and timeout, so that rotation and an issuer outage show within a test. */
const AUTH_ENV = { AUTH_JWKS_COOLDOWN_MS: "200", AUTH_JWKS_TIMEOUT_MS: "500" };

describe("auth", () => {
  const system = systemForSuite({ env: { gateway: AUTH_ENV, order: AUTH_ENV } });
  /** Every token this file sent: none may appear anywhere the system writes. */
  const sent = new Set<string>();
  const track = (token: string) => {
    sent.add(token);
    return token;
  };
  const token = async (sub: string, scope?: string) => track(await system.auth.token(sub, { scope }));
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (extra: JWTPayload = {}): JWTPayload => ({
    iss: system.auth.issuer.issuerUrl,
    aud: system.auth.issuer.audience,
    sub: "c-auth",
    iat: now(),
    exp: now() + 600,
    ...extra,
  });
  /** A token the issuer signs with its current key, with these claims and header. */
  const signed = async (payload: JWTPayload, header: { kid?: string; alg?: string } = {}) =>
    track(await system.auth.issuer.sign(payload, header));

  /** GET an unknown order with these request headers (a valid token gets 404; a bad one 4xx before any lookup). */
  const probe = (headers: Record<string, string> = {}) =>
    fetch(`${system.gatewayUrl}/api/v1/orders/${randomUUID()}`, { headers });
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  async function refused(res: Response, status = 401) {
    const body = (await res.json()) as { type: string; status: number };
    assert.equal(res.status, status, JSON.stringify(body));
    assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer realm="orderflow"/);
    return body;
  }

  /** Raw HTTP, for what fetch will not send (two Authorization headers). */
  function rawGet(path: string, rawHeaders: string[]): Promise<{ status: number; body: string }> {
    const url = new URL(system.gatewayUrl);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        // Headers as a raw list, Host included (Node adds none to a list; a request without Host is a 400).
        { host: url.hostname, port: url.port, path, method: "GET", headers: ["Host", url.host, ...rawHeaders] },
        (res) => {
          let body = "";
          res.on("data", (c) => (body += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  async function placeAs(sub: string, key: string = randomUUID(), items = [{ sku: "KB-001", quantity: 1 }]) {
    const res = await fetch(`${system.gatewayUrl}/api/v1/orders`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": key, ...bearer(await token(sub)) },
      body: JSON.stringify({ items }),
    });
    return {
      status: res.status,
      replayed: res.headers.get("idempotent-replayed"),
      body: (await res.json()) as Record<string, unknown>,
    };
  }

  it("when a valid token calls, then the API answers (a 404 for an unknown order: it got past authentication)", async () => {
    assert.equal((await probe(bearer(await token("c-auth")))).status, 404);
    for (const open of ["/healthz", "/readyz", "/metrics"]) {
      assert.equal((await fetch(`${system.gatewayUrl}${open}`)).status, 200, `${open} stays open`);
    }
  });

  it("when no Authorization header is sent, then 401 with a bare Bearer challenge", async () => {
    const res = await probe();
    const body = await refused(res);
    assert.equal(body.type, "/problems/unauthenticated");
    assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="orderflow"');
  });

  it("when the Authorization header is empty, or Bearer with no token, then 401", async () => {
    await refused(await probe({ authorization: "" }));
    await refused(await probe({ authorization: "Bearer " }));
  });

  it("when Basic credentials are sent, then 401 asking for a Bearer token", async () => {
    const res = await probe({ authorization: `Basic ${Buffer.from("c-auth:secret").toString("base64")}` });
    await refused(res);
  });

  it("when two Authorization headers are sent (even two valid ones), then 400 invalid_request", async () => {
    const t = await token("c-auth");
    const res = await rawGet(`/api/v1/orders/${randomUUID()}`, [
      "Authorization",
      `Bearer ${t}`,
      "Authorization",
      `Bearer ${t}`,
    ]);
    assert.equal(res.status, 400, res.body);
    assert.match(res.body, /more than one Authorization header/);
  });

  it("when the token comes in the query string, then 400 invalid_request (never used), and no log line holds it", async () => {
    const t = await token("c-auth");
    const res = await fetch(`${system.gatewayUrl}/api/v1/orders?access_token=${t}`);
    const body = await refused(res, 400);
    assert.equal(body.type, "/problems/invalid-credentials-request");
    assert.match(res.headers.get("www-authenticate") ?? "", /error="invalid_request"/);
  });

  it("when the token is unsigned (alg: none), then 401", async () => {
    const header = base64url.encode(JSON.stringify({ alg: "none", typ: "JWT" }));
    const payload = base64url.encode(JSON.stringify(claims()));
    const res = await probe(bearer(track(`${header}.${payload}.`)));
    assert.match((await refused(res)).type, /unauthenticated/);
  });

  it("when the token is HS256-signed with the issuer's public key (algorithm confusion), then 401", async () => {
    const publicJwk = system.auth.issuer.currentKey().publicJwk;
    const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
    const t = await new SignJWT(claims()).setProtectedHeader({ alg: "HS256", kid: publicJwk.kid }).sign(secret);
    await refused(await probe(bearer(track(t))));
  });

  it("when the token is signed with an algorithm other than the allowed one (ES384), then 401", async () => {
    const { generateKeyPair } = await import("jose");
    const { privateKey } = await generateKeyPair("ES384");
    const t = await new SignJWT(claims())
      .setProtectedHeader({ alg: "ES384", kid: system.auth.issuer.currentKey().kid })
      .sign(privateKey);
    await refused(await probe(bearer(track(t))));
  });

  it("when the token names a kid the issuer does not publish, then 401 (after one refetch of the keys)", async () => {
    await refused(await probe(bearer(await signed(claims(), { kid: "no-such-kid" }))));
  });

  it("when the token is signed by a key the issuer never published (under a published kid), then 401", async () => {
    const stranger = await generateSigningKey(system.auth.issuer.currentKey().kid);
    const t = await new SignJWT(claims())
      .setProtectedHeader({ alg: "ES256", kid: stranger.kid })
      .sign(await importJWK(stranger.privateJwk, "ES256"));
    await refused(await probe(bearer(track(t))));
  });

  it("when the payload of a valid token is changed (another sub), then 401: the signature no longer verifies", async () => {
    const [h, , s] = (await token("c-auth")).split(".");
    const forged = `${h}.${base64url.encode(JSON.stringify(claims({ sub: "c-victim" })))}.${s}`;
    const body = await refused(await probe(bearer(track(forged))));
    assert.equal(body.type, "/problems/unauthenticated");
  });

  it("when the token expired beyond the clock tolerance, then 401; within it, accepted", async () => {
    await refused(await probe(bearer(await signed(claims({ iat: now() - 600, exp: now() - 120 })))));
    assert.equal((await probe(bearer(await signed(claims({ iat: now() - 600, exp: now() - 10 }))))).status, 404);
  });

  it("when the token's nbf is in the future (beyond the tolerance), then 401", async () => {
    await refused(await probe(bearer(await signed(claims({ nbf: now() + 300 })))));
  });

  it("when iss or aud is wrong or missing, then 401; an aud array that contains the audience is accepted", async () => {
    await refused(await probe(bearer(await signed(claims({ iss: "https://evil.example" })))));
    await refused(await probe(bearer(await signed({ ...claims(), iss: undefined }))));
    await refused(await probe(bearer(await signed(claims({ aud: "another-api" })))));
    await refused(await probe(bearer(await signed({ ...claims(), aud: undefined }))));
    const both = await signed(claims({ aud: ["another-api", system.auth.issuer.audience] }));
    assert.equal((await probe(bearer(both))).status, 404);
  });

  it("when the token has no sub, then 401", async () => {
    const res = await probe(bearer(await signed({ ...claims(), sub: undefined })));
    await refused(res);
  });

  it("when the token is 8 KB, then a 4xx (never a 5xx)", async () => {
    const big = await signed(claims({ pad: "x".repeat(8 * 1024) }));
    const res = await probe(bearer(big));
    assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
  });

  it("when random Authorization headers are sent (edge fuzz), then every answer is a 4xx", async () => {
    const valid = await token("c-auth");
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const printable = (n: number) =>
      Array.from({ length: n }, () => String.fromCharCode(33 + Math.floor(random() * 94))).join("");
    const shapes = [
      () => printable(1 + Math.floor(random() * 200)),
      () => `Bearer ${printable(1 + Math.floor(random() * 300))}`,
      () => `bearer ${valid.slice(0, Math.floor(random() * valid.length))}`,
      () => `Bearer ${valid.replace(/[A-Za-z]/, (c) => (c === "A" ? "B" : "A"))}`,
      () => `Bearer ${[printable(10), printable(30), printable(40)].join(".")}`,
      () => `Bearer ${valid}.${printable(5)}`,
      () => `Bearer  ${valid}`.replace(" ", "\t"),
      () => `${printable(6)} ${valid}`,
    ];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 240; i++) {
      const header = (shapes[i % shapes.length] as () => string)();
      const res = await probe({ authorization: header }).catch(() => undefined);
      if (!res) continue; // a header fetch itself refuses to send
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      await res.arrayBuffer();
    }
    const bad = [...statuses.keys()].filter((s) => s < 400 || s >= 500);
    assert.deepEqual(bad, [], `statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
  });

  it("when another customer's order is asked for by id, then 404 with the body an unknown id gets (no existence oracle); an operator reads it", async () => {
    const placed = await placeAs("c-owner");
    assert.equal(placed.status, 201);
    const orderId = placed.body.orderId as string;
    assert.equal(placed.body.customerId, "c-owner", "the customer is the token's subject");
    const ask = async (id: string) => {
      const res = await fetch(`${system.gatewayUrl}/api/v1/orders/${id}`, { headers: bearer(await token("c-other")) });
      const body = (await res.json()) as Record<string, unknown>;
      const { correlationId: _c, ...rest } = body;
      return { status: res.status, body: JSON.parse(JSON.stringify(rest).replaceAll(id, "ID")) as unknown };
    };
    const theirs = await ask(orderId);
    const unknown = await ask(randomUUID());
    assert.equal(theirs.status, 404);
    assert.deepEqual(theirs, unknown);
    const owner = await fetch(`${system.gatewayUrl}/api/v1/orders/${orderId}`, {
      headers: bearer(await token("c-owner")),
    });
    assert.equal(owner.status, 200);
    const operator = await fetch(`${system.gatewayUrl}/api/v1/orders/${orderId}`, {
      headers: bearer(track(await system.auth.operatorToken())),
    });
    assert.equal(operator.status, 200);
    assert.ok(!("paymentToken" in ((await operator.json()) as object)), "no read returns the payment token");
  });

  it("when another customer's orders are listed, then 403; a body naming another customer, 403 and nothing placed", async () => {
    const list = await fetch(`${system.gatewayUrl}/api/v1/orders?customerId=c-owner`, {
      headers: bearer(await token("c-other")),
    });
    assert.equal(list.status, 403);
    const key = randomUUID();
    const post = await fetch(`${system.gatewayUrl}/api/v1/orders`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": key, ...bearer(await token("c-other")) },
      body: JSON.stringify({ customerId: "c-owner", items: [{ sku: "KB-001", quantity: 1 }] }),
    });
    assert.equal(post.status, 403);
    const db = openDatabase(system.database.url);
    try {
      assert.equal(await db.scalar("SELECT count(*) FROM orders.idempotency_keys WHERE key = $1", [key]), 0);
    } finally {
      await db.close();
    }
  });

  it("when another customer's order is watched over gRPC, then NOT_FOUND; a direct call without a token, UNAUTHENTICATED", async () => {
    const placed = await placeAs("c-watched");
    const client = createGrpcClient(OrderService, system.orderGrpcAddress);
    const watch = async (metadata: grpc.Metadata) => {
      try {
        for await (const _ of client.watchOrder(
          { orderId: placed.body.orderId as string },
          { deadline: new Date(Date.now() + 10_000), metadata },
        )) {
          return "data";
        }
        return "end";
      } catch (err) {
        return grpc.status[(err as grpc.ServiceError).code];
      }
    };
    try {
      const other = new grpc.Metadata();
      other.set(AUTHORIZATION_METADATA_KEY, `Bearer ${await token("c-other")}`);
      assert.equal(await watch(other), "NOT_FOUND");
      assert.equal(await watch(new grpc.Metadata()), "UNAUTHENTICATED");
    } finally {
      client.close();
    }
  });

  it("when another customer uses the same idempotency key, then they get an order of their own, never a replay or a 422 naming the first", async () => {
    const key = `shared-key-${randomUUID()}`;
    const first = await placeAs("c-key-a", key);
    const sameBody = await placeAs("c-key-b", key);
    assert.equal(sameBody.status, 201);
    assert.equal(sameBody.replayed, "false");
    assert.notEqual(sameBody.body.orderId, first.body.orderId);
    const otherBody = await placeAs("c-key-c", key, [{ sku: "MS-001", quantity: 3 }]);
    assert.equal(otherBody.status, 201, JSON.stringify(otherBody.body));
    assert.ok(!JSON.stringify(otherBody.body).includes(first.body.orderId as string));
    const replay = await placeAs("c-key-a", key);
    assert.deepEqual([replay.status, replay.replayed, replay.body.orderId], [201, "true", first.body.orderId]);
  });

  it("when the issuer rotates its key, then a token of the new kid is accepted and one of the removed kid refused", async () => {
    const old = await token("c-rotate");
    assert.equal((await probe(bearer(old))).status, 404);
    const retired = system.auth.issuer.currentKey().kid;
    await system.auth.issuer.addKey();
    system.auth.issuer.removeKey(retired);
    const fresh = await token("c-rotate");
    assert.notEqual(fresh, old);
    // The new kid is unknown to the verifiers: they refetch (past their 200 ms cooldown) and accept it.
    await waitFor("the new key to be accepted", async () => (await probe(bearer(fresh))).status === 404, {
      timeoutMs: 15_000,
    });
    await waitFor("the removed key to be refused", async () => (await probe(bearer(old))).status === 401, {
      timeoutMs: 15_000,
    });
  });

  it("when the issuer's JWKS is down, then cached keys keep working; a gateway that never had them answers 503, not 401, until it is back", async () => {
    const t = await token("c-outage");
    assert.equal((await probe(bearer(t))).status, 404);
    await system.auth.server.stop();
    try {
      assert.equal((await probe(bearer(t))).status, 404, "the keys already fetched still verify");
      await system.service("gateway").restart(); // a cold verifier: no keys yet, the issuer away
      const res = await probe(bearer(t));
      const body = (await res.json()) as { type: string };
      assert.equal(res.status, 503, JSON.stringify(body));
      assert.equal(body.type, "/problems/auth-unavailable");
      assert.equal(res.headers.get("retry-after"), "1");
    } finally {
      await system.auth.server.start();
    }
    await waitFor(
      "the cold gateway to verify once the issuer is back",
      async () => (await probe(bearer(t))).status === 404,
      {
        timeoutMs: 15_000,
      },
    );
  });

  it("when an order has gone through every service, then no token is in an outbox, a stream, a dead letter, a log line or a span", async () => {
    const placed = await placeAs("c-leak");
    assert.equal(placed.status, 201);
    await waitForOrder(
      system.gatewayUrl,
      placed.body.orderId as string,
      (o) => o.status === "CONFIRMED" && notified(o),
    );
    const secrets = [...sent].flatMap((t) => [t, t.split(".")[2] ?? ""]).filter((s) => s.length >= 20);
    assert.ok(secrets.length > 20, `${secrets.length} token parts to look for`);
    const leaks: string[] = [];
    const scan = (where: string, text: string) => {
      for (const s of secrets) if (text.includes(s)) leaks.push(`${where}: ${s.slice(0, 16)}...`);
    };
    // Outboxes (every service's, published rows included), as text.
    const db = openDatabase(system.database.url);
    try {
      for (const schema of ["orders", "inventory", "payments", "notifications"]) {
        const rows = await db.query(
          `SELECT subject, encode(payload, 'escape') AS payload, headers::text AS headers FROM ${schema}.outbox`,
        );
        scan(`${schema}.outbox`, JSON.stringify(rows));
      }
    } finally {
      await db.close();
    }
    // Every message of every stream (the dead-letter stream included), payload and headers.
    const nc = await connectNats({
      url: system.nats.url,
      name: "auth-scan",
      user: NATS_USERS.operator.user,
      pass: NATS_USERS.operator.password,
    });
    try {
      const jsm = await jetstreamManager(nc);
      let messages = 0;
      for await (const stream of jsm.streams.list()) {
        for (let seq = stream.state.first_seq; seq <= stream.state.last_seq && seq > 0; seq++) {
          const m = await jsm.streams.getMessage(stream.config.name, { seq }).catch(() => null);
          if (!m) continue;
          messages++;
          scan(
            `stream ${stream.config.name}`,
            Buffer.from(m.data).toString("latin1") +
              JSON.stringify(m.header ? m.header.keys().map((k) => [k, m.header?.values(k)]) : []),
          );
        }
      }
      assert.ok(messages > 0, "the streams were read");
    } finally {
      await nc.close();
    }
    // The payment token is carried to payment by the events (above), and nowhere else.
    secrets.push("tok_visa");
    for (const line of system.logs()) scan(`log of ${String(line.service)}`, JSON.stringify(line));
    for (const name of ["gateway", "order", "inventory", "payment", "notification"] as const) {
      scan(`raw output of ${name}`, system.service(name).lines.join("\n"));
    }
    await waitFor("spans of the last order", () => system.traces.spans.length > 0);
    scan("spans", JSON.stringify(system.traces.spans));
    assert.deepEqual(leaks, []);
  });
});
