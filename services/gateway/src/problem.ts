/**
 * Errors as RFC 9457 problem details (application/problem+json). Validation
 * problems name every offending field (`errors[].field`, e.g. `items[0].quantity`).
 */
import * as grpc from "@grpc/grpc-js";
import { isGrpcError, RETRY_AFTER_METADATA_KEY, readFieldViolations } from "@orderflow/contracts";
import { currentCorrelation, type Logger } from "@orderflow/logging";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { InventoryQueryError } from "./inventory-client.js";

export interface FieldError {
  field: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  correlationId?: string;
  errors?: FieldError[];
}

export function sendProblem(reply: FastifyReply, problem: Omit<Problem, "instance" | "correlationId">) {
  const full: Problem = {
    ...problem,
    instance: reply.request.url.split("?")[0],
    correlationId: currentCorrelation()?.correlationId,
  };
  return reply.code(problem.status).type("application/problem+json").send(full);
}

/**
 * The gRPC status the order service answered (after the retry policy), as the
 * HTTP status the client decides on. 503 and 504 mean: retry with the same key.
 */
export const GRPC_TO_HTTP: Partial<Record<grpc.status, { status: number; type: string; title: string }>> = {
  [grpc.status.INVALID_ARGUMENT]: { status: 400, type: "/problems/invalid-request", title: "Invalid request" },
  [grpc.status.NOT_FOUND]: { status: 404, type: "/problems/not-found", title: "Not found" },
  // The order service checks the caller itself; the gateway never retries these.
  [grpc.status.UNAUTHENTICATED]: {
    status: 401,
    type: "/problems/unauthenticated",
    title: "A valid bearer token is required",
  },
  [grpc.status.PERMISSION_DENIED]: { status: 403, type: "/problems/forbidden", title: "Forbidden" },
  [grpc.status.ALREADY_EXISTS]: {
    status: 422,
    type: "/problems/idempotency-key-reused",
    title: "Idempotency key already used with a different request",
  },
  // Admission control: the system is behind and refused the order before any work.
  [grpc.status.RESOURCE_EXHAUSTED]: {
    status: 503,
    type: "/problems/system-busy",
    title: "The system is behind and placed nothing; retry after Retry-After seconds with the same Idempotency-Key",
  },
  [grpc.status.UNAVAILABLE]: {
    status: 503,
    type: "/problems/order-service-unavailable",
    title: "Order service unavailable; retry with the same Idempotency-Key",
  },
  [grpc.status.DEADLINE_EXCEEDED]: {
    status: 504,
    type: "/problems/order-service-timeout",
    title: "Order service did not answer in time; retry with the same Idempotency-Key",
  },
};

/** Seconds to wait as the order service said (admission control), or 1. */
function retryAfterOf(metadata: grpc.Metadata | undefined): string {
  const said = Number(metadata?.get(RETRY_AFTER_METADATA_KEY)[0]?.toString());
  return Number.isInteger(said) && said > 0 ? String(said) : "1";
}

/** Turns an Ajv error into the name of the field it is about. */
function fieldOf(error: Record<string, unknown>, context: string | undefined): string {
  const params = (error.params ?? {}) as Record<string, unknown>;
  const path = String(error.instancePath ?? "")
    .split("/")
    .filter(Boolean)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join("")
    .replace(/^\./, "");
  const extra = (params.missingProperty ?? params.additionalProperty) as string | undefined;
  const name = extra ? (path ? `${path}.${extra}` : extra) : path;
  if (context === "headers") return headerName(name);
  if (context === "querystring") return `query.${name}`;
  return name || "body";
}

function headerName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

export function errorHandler(logger: Logger) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error.validation) {
      const errors = error.validation.map((e) => {
        const raw = e as unknown as Record<string, unknown>;
        const field = fieldOf(raw, error.validationContext);
        const params = (raw.params ?? {}) as Record<string, unknown>;
        const message =
          raw.keyword === "required"
            ? "is required"
            : raw.keyword === "additionalProperties"
              ? "is not a known field"
              : String(e.message ?? "is invalid") +
                (params.allowedValues ? `: ${(params.allowedValues as unknown[]).join(", ")}` : "");
        return { field, message };
      });
      return sendProblem(reply, {
        type: "/problems/invalid-request",
        title: "Invalid request",
        status: 400,
        detail: errors.map((e) => `${e.field} ${e.message}`).join("; "),
        errors,
      });
    }
    const queryError: unknown = error;
    if (queryError instanceof InventoryQueryError) {
      const status = { timeout: 504, "no-responders": 503, failed: 502 }[queryError.kind];
      if (status !== 502) reply.header("Retry-After", "1");
      request.log.warn({ kind: queryError.kind }, queryError.message);
      return sendProblem(reply, {
        type: `/problems/inventory-${queryError.kind}`,
        title: {
          timeout: "Inventory service timed out",
          "no-responders": "Inventory service unavailable",
          failed: "Bad gateway",
        }[queryError.kind],
        status,
        detail: queryError.message,
      });
    }
    const grpcError: unknown = error;
    if (isGrpcError(grpcError)) {
      const mapped = GRPC_TO_HTTP[grpcError.code as grpc.status];
      if (mapped) {
        if (mapped.status >= 500) reply.header("Retry-After", retryAfterOf(grpcError.metadata));
        if (mapped.status === 401) reply.header("WWW-Authenticate", 'Bearer realm="orderflow", error="invalid_token"');
        if (mapped.status >= 500) request.log.warn({ code: grpc.status[grpcError.code] }, "order service call failed");
        // google.rpc.BadRequest field paths are the proto's (snake_case); problem+json names JSON fields.
        const errors = readFieldViolations(grpcError.metadata).map((v) => ({
          field: v.field.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()),
          message: v.description,
        }));
        return sendProblem(reply, { ...mapped, detail: grpcError.details, ...(errors.length ? { errors } : {}) });
      }
      request.log.error({ err: error }, "order service answered with an unexpected status");
      return sendProblem(reply, { type: "/problems/upstream-error", title: "Bad gateway", status: 502 });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return sendProblem(reply, {
        type: `/problems/http-${status}`,
        title: httpTitle(status),
        status,
        detail: error.message,
      });
    }
    logger.error({ err: error }, "unhandled error");
    return sendProblem(reply, { type: "/problems/internal", title: "Internal server error", status: 500 });
  };
}

function httpTitle(status: number): string {
  const titles: Record<number, string> = {
    400: "Bad request",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    413: "Request body too large",
    415: "Unsupported media type",
    429: "Too many requests",
    431: "Request header fields too large",
  };
  return titles[status] ?? "Client error";
}
