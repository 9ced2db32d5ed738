/**
 * A stand-in OpenTelemetry collector for tests: accepts OTLP/HTTP JSON
 * (OTEL_EXPORTER_OTLP_PROTOCOL=http/json) on POST /v1/traces and keeps the spans.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startMs: number;
  durationMs: number;
  attributes: Record<string, unknown>;
  /** Span links: the traces this span is linked to (a replay links the original message's). */
  links: { traceId: string; spanId: string }[];
}

export interface OtlpReceiver {
  endpoint: string;
  spans: ReceivedSpan[];
  /** Every export request, whatever its encoding (only JSON bodies become `spans`). */
  requests: { path: string; contentType: string }[];
  stop(): Promise<void>;
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type KeyValue = { key: string; value: AnyValue };
const value = (v: AnyValue) =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue));
const attrs = (list: KeyValue[] = []) => Object.fromEntries(list.map((a) => [a.key, value(a.value)]));

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: OtlpReceiver["requests"] = [];
  const server = createServer((req, res) => {
    requests.push({ path: req.url ?? "", contentType: String(req.headers["content-type"] ?? "") });
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      try {
        if (req.method === "POST" && req.url === "/v1/traces" && req.headers["content-type"]?.includes("json")) {
          const payload = JSON.parse(body);
          for (const rs of payload.resourceSpans ?? []) {
            const service = String(attrs(rs.resource?.attributes)["service.name"] ?? "");
            for (const ss of rs.scopeSpans ?? []) {
              for (const s of ss.spans ?? []) {
                const start = Number(BigInt(s.startTimeUnixNano) / 1_000_000n);
                const end = Number(BigInt(s.endTimeUnixNano) / 1_000_000n);
                spans.push({
                  service,
                  traceId: s.traceId,
                  spanId: s.spanId,
                  parentSpanId: s.parentSpanId ?? "",
                  name: s.name,
                  kind: s.kind,
                  startMs: start,
                  durationMs: end - start,
                  attributes: attrs(s.attributes),
                  links: (s.links ?? []).map((l: { traceId: string; spanId: string }) => ({
                    traceId: l.traceId,
                    spanId: l.spanId,
                  })),
                });
              }
            }
          }
        }
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
