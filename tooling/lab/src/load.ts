/**
 * What the lab's load commands share (pnpm bench, pnpm soak): the order mix,
 * one POST as a client does it, and the small statistics and /proc readings
 * they report with.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";

export const percentile = (xs: number[], p: number) => {
  if (!xs.length) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
};
export const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

/** A process's resident memory in MB, from /proc. */
export function rssMb(pid: number): number {
  try {
    const kb = Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)?.[1]);
    return kb / 1024;
  } catch {
    return Number.NaN;
  }
}

export const STOCKED = ["CB-001", "KB-001", "MS-001", "MN-001", "HD-001"];
/** The n-th order of the mix (or of the hot SKU). LT-001 is kept at 0: out of stock. */
export function orderBody(n: number, hotSku = false): string {
  const customerId = `bench-${n % 1000}`;
  if (hotSku) return JSON.stringify({ customerId, items: [{ sku: "CB-001", quantity: 1 }] });
  const sku = STOCKED[n % STOCKED.length] as string;
  if (n % 20 === 7) return JSON.stringify({ customerId, items: [{ sku, quantity: 1 }], paymentToken: "tok_declined" });
  if (n % 20 === 13) return JSON.stringify({ customerId, items: [{ sku: "LT-001", quantity: 1 }] });
  const items =
    n % 4 === 1
      ? [
          { sku, quantity: 1 },
          { sku: STOCKED[(n + 2) % STOCKED.length] as string, quantity: 2 },
        ]
      : [{ sku, quantity: 1 }];
  return JSON.stringify({ customerId, items });
}

export interface Answer {
  status: number; // 0: no answer
  ms: number;
  retryAfterS?: number;
  /** The problem type of an error answer. */
  type?: string;
}

/**
 * The load generator's connections: kept alive, as many as the load needs.
 * node:http rather than fetch: the generator shares the machine with the
 * system it measures, and fetch (undici's WHATWG layer) cost it 2-3 times the
 * CPU per request (docs/measurements.md), CPU the system then lacked.
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 2048 });

interface Reply {
  status: number;
  retryAfter?: string;
  text: string;
}

function post(url: URL, headers: Record<string, string>, body: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        agent,
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const retryAfter = res.headers["retry-after"];
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
            text: Buffer.concat(chunks).toString("utf8"),
          });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** POSTs the n-th order of the mix as its customer (bench-<n % 1000>), with `tokens[n % 1000]`. */
export async function postOrder(gatewayUrl: string, n: number, tokens: string[], hotSku = false): Promise<Answer> {
  const started = performance.now();
  try {
    const res = await post(
      new URL("/api/v1/orders", gatewayUrl),
      {
        "content-type": "application/json",
        "idempotency-key": randomUUID(),
        authorization: `Bearer ${tokens[n % 1000]}`,
      },
      orderBody(n, hotSku),
    );
    const ms = performance.now() - started;
    let type: string | undefined;
    if (res.status !== 201) {
      try {
        type = (JSON.parse(res.text) as { type?: string }).type;
      } catch {}
    }
    return {
      status: res.status,
      ms,
      retryAfterS: res.retryAfter === undefined ? undefined : Number(res.retryAfter),
      type,
    };
  } catch {
    return { status: 0, ms: performance.now() - started };
  }
}
