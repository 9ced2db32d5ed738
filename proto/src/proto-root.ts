import { fileURLToPath } from "node:url";

/**
 * The folder that holds the .proto files (from src/ or dist/ alike), for tools
 * that load them at run time: server reflection, independent test clients.
 */
export const PROTO_ROOT = fileURLToPath(new URL("..", import.meta.url));
export const ORDER_SERVICE_PROTO = "orderflow/order/v1/order_service.proto";
