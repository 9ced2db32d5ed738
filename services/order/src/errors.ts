/** Errors the use cases raise; grpc-server.ts maps each to a gRPC status. */
export class InvalidArgumentError extends Error {
  override name = "InvalidArgumentError";
  constructor(
    /** The field as the JSON mapping names it, e.g. "items[0].quantity", "customerId". */
    readonly field: string,
    readonly description: string,
  ) {
    super(`${field}: ${description}`);
  }

  /** The field's path as the proto names it (google.rpc.BadRequest), e.g. "customer_id". */
  get protoField(): string {
    return this.field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  }
}

export class NotFoundError extends Error {
  override name = "NotFoundError";
}

export class IdempotencyConflictError extends Error {
  override name = "IdempotencyConflictError";
}
