/** An order as the gRPC API shows it (orderflow.order.v1.Order): the view mapping, apart from the transport. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Order, OrderSchema, OrderStatus } from "@orderflow/contracts";
import type { OrderView } from "./order-view.js";

const STATUS = {
  PENDING: OrderStatus.PENDING,
  CONFIRMED: OrderStatus.CONFIRMED,
  CANCELLED: OrderStatus.CANCELLED,
} as const;

export function toProtoOrder(o: OrderView, now: Date, stalledAfterMs: number, hideWaiting = false): Order {
  const waiting = o.status === "PENDING" && o.waitingSince && !hideWaiting ? o.waitingSince : undefined;
  return create(OrderSchema, {
    orderId: o.id,
    customerId: o.customerId,
    status: STATUS[o.status],
    items: o.items.map((i) => ({ sku: i.sku, quantity: i.quantity, unitPriceCents: BigInt(i.unitPriceCents ?? 0) })),
    totalCents: BigInt(o.totalCents ?? 0),
    cancelReason: o.cancelReason ?? "",
    timeline: o.timeline.map((t) => ({ step: t.step, detail: t.detail, at: timestampFromDate(t.at) })),
    createdAt: timestampFromDate(o.createdAt),
    updatedAt: timestampFromDate(o.updatedAt),
    waitingOn: waiting ? (o.waitingOn ?? "") : "",
    ...(waiting ? { waitingSince: timestampFromDate(waiting) } : {}),
    stalled: waiting ? now.getTime() - waiting.getTime() > stalledAfterMs : false,
  });
}
