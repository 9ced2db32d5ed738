/**
 * A gRPC health probe, as grpc-health-probe is: asks grpc.health.v1.Health/Check
 * at the address given (default 127.0.0.1:50051) and exits 0 only for SERVING.
 * Compose's healthcheck of the order service runs it inside the image:
 *   node services/order/dist/grpc-health-probe.js 127.0.0.1:50051
 */
import * as grpc from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";

const address = process.argv[2] ?? "127.0.0.1:50051";
const Health = grpc.makeGenericClientConstructor(healthService, "Health");
const client = new Health(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
  check(
    request: { service: string },
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, res?: { status: string | number }) => void,
  ): void;
};
client.check({ service: "" }, { deadline: Date.now() + 2000 }, (err, res) => {
  const status = err ? `error: ${err.details || err.message}` : String(res?.status);
  console.log(`${address}: ${status}`);
  client.close();
  process.exit(status === "SERVING" || status === "1" ? 0 : 1);
});
