/**
 * The two services every gRPC tool expects of a server:
 * - grpc.health.v1.Health (Check and Watch), from grpc-health-check: what
 *   grpc-health-probe, Kubernetes gRPC probes and compose's healthcheck ask.
 *   NOT_SERVING while starting, while draining, and while the database does
 *   not answer; SERVING otherwise.
 * - server reflection (v1 and v1alpha), from @grpc/reflection, fed by the same
 *   .proto files as everything else: grpcurl needs no local copy of them.
 */
import { dirname } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { ORDER_SERVICE_PROTO, PROTO_ROOT } from "@orderflow/contracts";
import { HealthImplementation, protoPath as healthProto, type ServingStatus } from "grpc-health-check";

/** The names Check accepts: "" (the whole server) and the order service's full name. */
export const HEALTH_SERVICES = ["", "orderflow.order.v1.OrderService"] as const;

export interface GrpcHealth {
  set(status: ServingStatus): void;
  /** Polls `check` (the database) and reports NOT_SERVING while it fails; stops on stop(). */
  watchDependency(check: () => Promise<unknown>, everyMs?: number): void;
  /** Draining: NOT_SERVING for good. */
  stop(): void;
}

export function addHealthAndReflection(server: grpc.Server): GrpcHealth {
  const health = new HealthImplementation(Object.fromEntries(HEALTH_SERVICES.map((s) => [s, "NOT_SERVING"])));
  health.addToServer(server);
  const definition = protoLoader.loadSync([ORDER_SERVICE_PROTO, healthProto], {
    includeDirs: [PROTO_ROOT, dirname(healthProto)],
  });
  new ReflectionService(definition).addToServer(server);

  let draining = false;
  let ready = false;
  let timer: NodeJS.Timeout | undefined;
  const set = (status: ServingStatus) => {
    for (const name of HEALTH_SERVICES) health.setStatus(name, draining ? "NOT_SERVING" : status);
  };
  return {
    set(status) {
      ready = status === "SERVING";
      set(status);
    },
    watchDependency(check, everyMs = 2000) {
      const probe = async () => {
        if (draining || !ready) return;
        set(
          await check().then(
            () => "SERVING",
            () => "NOT_SERVING",
          ),
        );
      };
      timer = setInterval(() => void probe(), everyMs);
      timer.unref();
    },
    stop() {
      draining = true;
      clearInterval(timer);
      set("NOT_SERVING");
    },
  };
}
