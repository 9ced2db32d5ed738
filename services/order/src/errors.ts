/** Errors the use cases raise; grpc-server.ts maps each to a gRPC status. */
export class InvalidArgumentError extends Error {
  override name = "InvalidArgumentError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export class NotFoundError extends Error {
  override name = "NotFoundError";
}

export class IdempotencyConflictError extends Error {
  override name = "IdempotencyConflictError";
}
