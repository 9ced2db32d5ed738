export * from "./gen/orderflow/events/v1/events_pb.js";
export * from "./gen/orderflow/inventory/v1/stock_query_pb.js";
export * from "./gen/orderflow/order/v1/order_service_pb.js";
export * from "./grpc-adapter.js";
export * from "./order-limits.js";
export * from "./subjects.js";
