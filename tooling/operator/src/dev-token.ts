/** A token from a development issuer's POST /token (`pnpm start` and compose run one on 8090 + PORT_OFFSET). */

export const devIssuerUrl = () =>
  process.env.ISSUER_URL ?? `http://127.0.0.1:${8090 + Number(process.env.PORT_OFFSET ?? 0)}`;

export async function devToken(
  issuerUrl: string,
  request: { sub: string; scope?: string; ttlS?: number },
): Promise<string> {
  let res: Response;
  try {
    res = await fetch(`${issuerUrl}/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request),
    });
  } catch (err) {
    throw new Error(
      `the development issuer at ${issuerUrl} does not answer (${(err as Error).message}): is \`pnpm start\` (or docker compose up) running?`,
    );
  }
  const body = (await res.json().catch(() => ({}))) as { access_token?: string; error_description?: string };
  if (!res.ok || !body.access_token) throw new Error(`the issuer refused: ${body.error_description ?? res.status}`);
  return body.access_token;
}
