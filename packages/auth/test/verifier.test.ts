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

  it("when a token comes again, then the caller verified before, until the cache's time ends; an expired one is refused though it was verified", async () => {
    const verifier = createVerifier({ ...config, clockToleranceS: 0, verifiedCacheMs: 300 });
    const token = await issuer.mint({ sub: "c-1" });
    const first = await verifier.verify(token);
    assert.equal(await verifier.verify(token), first, "the same caller: its signature was not checked again");
    await new Promise((r) => setTimeout(r, 350));
    const again = await verifier.verify(token);
    assert.notEqual(again, first, "verified again once the cache's time ended");
    assert.equal(again.subject, "c-1");

    const uncached = createVerifier({ ...config, verifiedCacheMs: 0 });
    assert.notEqual(await uncached.verify(token), await uncached.verify(token), "0: every call verifies");

    const lasting = createVerifier({ ...config, clockToleranceS: 0, verifiedCacheMs: 60_000 });
    const shortLived = await issuer.mint({ sub: "c-2", ttlS: 1 });
    assert.equal((await lasting.verify(shortLived)).subject, "c-2");
    const exp = JSON.parse(Buffer.from(shortLived.split(".")[1] as string, "base64url").toString()).exp as number;
    await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 50));
    await assert.rejects(lasting.verify(shortLived), /the token has expired/);
  });

  it("when the key of a remembered token leaves the issuer's set, then the token is verified again and refused at once", async () => {
    const verifier = createVerifier({ ...config, verifiedCacheMs: 60_000 });
    const old = await issuer.mint({ sub: "c-rotate" });
    assert.equal((await verifier.verify(old)).subject, "c-rotate");
    const retired = issuer.currentKey().kid;
    await issuer.addKey();
    issuer.removeKey(retired);
    // A token of the new kid makes the verifier fetch the set again (cooldown 0 here).
    assert.equal((await verifier.verify(await issuer.mint({ sub: "c-rotate" }))).subject, "c-rotate");
    await assert.rejects(verifier.verify(old), /not one the issuer publishes/);
  });

  it("when a token is longer than 4096 characters, then refused before it is parsed", async () => {
    await assert.rejects(createVerifier(config).verify("a".repeat(5000)), /longer than 4096/);
  });

  it("when the issuer is away, then a verifier with keys keeps verifying (a failed refresh keeps them); a cold one is unavailable, not a 401", async () => {
    // Every call checks the signature (and so looks at the key set), none is taken from the cache.
    const everyTime = { ...config, verifiedCacheMs: 0 };
    const warm = createVerifier(everyTime);
    const refreshFailures: Error[] = [];
    const warmWithLog = createVerifier(everyTime, (err) => refreshFailures.push(err));
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
