/**
 * The verifier against a real issuer over HTTP (the development issuer's code,
 * on a free port): what it accepts, what it refuses and how, and how it keeps
 * working while the issuer is away.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  AuthError,
  AuthUnavailableError,
  bearerChallenge,
  bearerToken,
  createIssuer,
  createVerifier,
  type Issuer,
  type IssuerServer,
  rawHeaderValues,
  serveIssuer,
  type VerifierConfig,
} from "../src/index.js";

describe("bearer credentials (RFC 6750)", () => {
  const read = (authorization: string[], tokenInQuery = false) => bearerToken({ authorization, tokenInQuery });
  it("when one Bearer header is sent, then its token (the scheme in any case)", () => {
    assert.equal(read(["Bearer abc.def.ghi"]), "abc.def.ghi");
    assert.equal(read(["bearer abc.def.ghi"]), "abc.def.ghi");
  });
  const refusals: [string, string[], boolean, string | undefined][] = [
    ["no header", [], false, undefined],
    ["an empty header", [""], false, undefined],
    ["Basic", ["Basic dXNlcjpwYXNz"], false, undefined],
    ["Bearer without a token", ["Bearer "], false, undefined],
    ["a token with spaces", ["Bearer a b"], false, "invalid_token"],
    ["two headers", ["Bearer a", "Bearer a"], false, "invalid_request"],
    ["a token in the query string", ["Bearer a"], true, "invalid_request"],
  ];
  for (const [what, headers, inQuery, code] of refusals) {
    it(`when ${what}, then an AuthError${code ? ` (${code})` : ""}`, () => {
      assert.throws(
        () => read(headers, inQuery),
        (err: unknown) => err instanceof AuthError && (code === undefined || err.code === code),
      );
    });
  }
  it("when headers are read raw, then every Authorization value counts, whatever its case", () => {
    assert.deepEqual(rawHeaderValues(["Host", "x", "authorization", "a", "AUTHORIZATION", "b"], "authorization"), [
      "a",
      "b",
    ]);
  });
  it("when a challenge is written, then quotes in the description cannot break out of it", () => {
    assert.equal(
      bearerChallenge("orderflow", new AuthError("invalid_token", 'the "sub" claim')),
      `Bearer realm="orderflow", error="invalid_token", error_description="the 'sub' claim"`,
    );
  });
});

describe("verifier (against a real issuer over HTTP)", () => {
  let issuer: Issuer;
  let server: IssuerServer;
  let config: VerifierConfig;
  before(async () => {
    issuer = await createIssuer({ issuerUrl: "http://issuer.test", audience: "api" });
    server = await serveIssuer(issuer, { port: 0 });
    config = {
      issuer: "http://issuer.test",
      audience: "api",
      jwksUrl: `${server.url}/.well-known/jwks.json`,
      algorithms: ["ES256"],
      clockToleranceS: 5,
      jwksCooldownMs: 0,
      jwksMaxAgeMs: 1000,
      jwksTimeoutMs: 500,
      operatorScope: "orders:operator",
    };
  });
  after(() => server.stop());

  it("when a token of the issuer is verified, then the caller: issuer, subject, scopes, operator or not", async () => {
    const verifier = createVerifier(config);
    const caller = await verifier.verify(await issuer.mint({ sub: "c-1", scope: "a orders:operator" }));
    assert.deepEqual(
      { ...caller, scopes: [...caller.scopes] },
      { issuer: "http://issuer.test", subject: "c-1", scopes: ["a", "orders:operator"], operator: true },
    );
    assert.equal((await verifier.verify(await issuer.mint({ sub: "c-2" }))).operator, false);
  });

  it("when a token is longer than 4096 characters, then refused before it is parsed", async () => {
    await assert.rejects(createVerifier(config).verify("a".repeat(5000)), /longer than 4096/);
  });

  it("when the issuer is away, then a verifier with keys keeps verifying (a failed refresh keeps them); a cold one is unavailable, not a 401", async () => {
    const warm = createVerifier(config);
    const refreshFailures: Error[] = [];
    const warmWithLog = createVerifier(config, (err) => refreshFailures.push(err));
    const token = await issuer.mint({ sub: "c-1" });
    await warm.verify(token);
    await warmWithLog.verify(token);
    await server.stop();
    try {
      await new Promise((r) => setTimeout(r, 1100)); // past jwksMaxAgeMs: a background refresh is due
      assert.equal((await warmWithLog.verify(token)).subject, "c-1");
      assert.equal((await warm.verify(token)).subject, "c-1");
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(refreshFailures.length >= 1, "the failed refresh was reported");
      assert.equal((await warmWithLog.verify(token)).subject, "c-1", "and the keys were kept");
      const cold = createVerifier(config);
      await assert.rejects(cold.verify(token), AuthUnavailableError);
      await assert.rejects(cold.warmUp());
    } finally {
      await server.start();
    }
    assert.equal((await createVerifier(config).verify(token)).subject, "c-1");
  });
});
