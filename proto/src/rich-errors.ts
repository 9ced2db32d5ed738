/**
 * Rich gRPC errors (Google's AIP-193): beside the human message, an
 * INVALID_ARGUMENT carries a `google.rpc.Status` in the `grpc-status-details-bin`
 * trailer, whose details hold a `google.rpc.BadRequest` naming each invalid
 * field. A client can tell which field failed without parsing English.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyPack, anyUnpack } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { BadRequestSchema } from "./gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "./gen/google/rpc/status_pb.js";

export const STATUS_DETAILS_KEY = "grpc-status-details-bin";

export interface FieldViolation {
  /** The field's path, e.g. "items[0].quantity". */
  field: string;
  description: string;
}

/** The trailer of an INVALID_ARGUMENT that names its field violations. */
export function badRequestMetadata(message: string, violations: FieldViolation[]): grpc.Metadata {
  const status = create(StatusSchema, {
    code: grpc.status.INVALID_ARGUMENT,
    message,
    details: [anyPack(BadRequestSchema, create(BadRequestSchema, { fieldViolations: violations }))],
  });
  const metadata = new grpc.Metadata();
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(toBinary(StatusSchema, status)));
  return metadata;
}

/** The field violations an error's trailer carries; none when it carries no BadRequest. */
export function readFieldViolations(metadata: grpc.Metadata | undefined): FieldViolation[] {
  const raw = metadata?.get(STATUS_DETAILS_KEY)[0];
  if (!raw || typeof raw === "string") return [];
  try {
    const status = fromBinary(StatusSchema, raw);
    return status.details.flatMap((any) => {
      const bad = anyUnpack(any, BadRequestSchema);
      return bad ? bad.fieldViolations.map(({ field, description }) => ({ field, description })) : [];
    });
  } catch {
    return []; // not a Status: the human message is still there
  }
}
