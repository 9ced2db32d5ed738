/**
 * protobuf-es -> grpc-js adapter.
 *
 * protoc-gen-es v2 generates message schemas and a service descriptor, but no
 * grpc-js `ServiceDefinition` (protobuf-es issue #252). This file builds one from
 * the descriptor: one entry per method, keyed by its `localName`, on the path
 * `/<package>.<Service>/<Method>`, with protobuf binary (de)serialisation. It also
 * gives typed server implementations and a small promise / async-iterator client
 * for the two method kinds this system uses (unary and server-streaming).
 */
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import * as grpc from "@grpc/grpc-js";

type MethodShape = GenServiceMethods[string];
type In<M extends MethodShape> = MessageShape<M["input"]>;
type Out<M extends MethodShape> = MessageShape<M["output"]>;

/** Builds the grpc-js definition of a generated service. */
export function toGrpcServiceDefinition<T extends GenServiceMethods>(service: GenService<T>): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      originalName: method.localName,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: serializer(method.input) as (value: unknown) => Buffer,
      requestDeserialize: deserializer(method.input),
      responseSerialize: serializer(method.output) as (value: unknown) => Buffer,
      responseDeserialize: deserializer(method.output),
    };
  }
  return definition;
}

function serializer(schema: DescMessage) {
  // `create` returns a message of this schema unchanged and completes a plain init object.
  return (value: MessageInitShape<DescMessage>) => Buffer.from(toBinary(schema, create(schema, value)));
}

function deserializer(schema: DescMessage) {
  return (bytes: Buffer) => fromBinary(schema, bytes);
}

/** The method shapes of a generated service: `ServiceMethods<typeof OrderService>`. */
export type ServiceMethods<S> = S extends GenService<infer T> ? T : never;

/** The handlers a server must provide, typed from the generated service. */
export type GrpcServiceImplementation<T extends GenServiceMethods> = {
  [K in keyof T]: T[K]["methodKind"] extends "unary"
    ? grpc.handleUnaryCall<In<T[K]>, Out<T[K]>>
    : T[K]["methodKind"] extends "server_streaming"
      ? grpc.handleServerStreamingCall<In<T[K]>, Out<T[K]>>
      : never;
};

/** Registers a typed implementation of a generated service on a grpc-js server. */
export function addGrpcService<T extends GenServiceMethods>(
  server: grpc.Server,
  service: GenService<T>,
  implementation: GrpcServiceImplementation<T>,
): void {
  server.addService(toGrpcServiceDefinition(service), implementation as grpc.UntypedServiceImplementation);
}

export interface CallOptions {
  /** Absolute deadline; the server sees the remaining time and gets DEADLINE_EXCEEDED past it. */
  deadline?: Date;
  metadata?: grpc.Metadata;
}

/** A client whose unary methods return promises and whose streaming methods return async iterables. */
export type GrpcClient<T extends GenServiceMethods> = {
  [K in keyof T]: T[K]["methodKind"] extends "unary"
    ? (request: MessageInitShape<T[K]["input"]>, options?: CallOptions) => Promise<Out<T[K]>>
    : T[K]["methodKind"] extends "server_streaming"
      ? (request: MessageInitShape<T[K]["input"]>, options?: CallOptions) => AsyncIterable<Out<T[K]>>
      : never;
} & { close(): void; raw: grpc.Client };

export function createGrpcClient<T extends GenServiceMethods>(
  service: GenService<T>,
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  channelOptions: grpc.ChannelOptions = {},
): GrpcClient<T> {
  const Constructor = grpc.makeGenericClientConstructor(toGrpcServiceDefinition(service), service.typeName);
  const raw = new Constructor(address, credentials, channelOptions);
  const client: Record<string, unknown> = { raw, close: () => raw.close() };
  for (const method of service.methods) {
    const name = method.localName;
    const call = (raw as unknown as Record<string, (...args: unknown[]) => unknown>)[name]?.bind(raw);
    if (!call) throw new Error(`grpc-js client has no method ${name}`);
    if (method.methodKind === "unary") {
      client[name] = (request: unknown, options: CallOptions = {}) =>
        new Promise((resolve, reject) => {
          call(request, options.metadata ?? new grpc.Metadata(), callOptions(options), (err: unknown, res: unknown) =>
            err ? reject(err) : resolve(res),
          );
        });
    } else if (method.methodKind === "server_streaming") {
      client[name] = (request: unknown, options: CallOptions = {}) =>
        call(request, options.metadata ?? new grpc.Metadata(), callOptions(options)) as AsyncIterable<unknown>;
    }
  }
  return client as GrpcClient<T>;
}

function callOptions(options: CallOptions): grpc.CallOptions {
  return options.deadline ? { deadline: options.deadline } : {};
}

/** Narrows an unknown error to a grpc-js status error. */
export function isGrpcError(err: unknown): err is grpc.ServiceError {
  return (
    typeof err === "object" && err !== null && "code" in err && typeof (err as { code: unknown }).code === "number"
  );
}
