/** An order as the HTTP API shows it: camelCase JSON, times as ISO strings, money as integer cents. */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Order, OrderStatus } from "@orderflow/contracts";

const STATUS_NAMES: Record<OrderStatus, string> = {
  [OrderStatus.UNSPECIFIED]: "UNSPECIFIED",
  [OrderStatus.PENDING]: "PENDING",
  [OrderStatus.CONFIRMED]: "CONFIRMED",
  [OrderStatus.CANCELLED]: "CANCELLED",
};

export function orderJson(order: Order, now = new Date()) {
  const priced = order.totalCents > 0n;
  const waitingSince = order.waitingSince ? timestampDate(order.waitingSince) : undefined;
  return {
    orderId: order.orderId,
    customerId: order.customerId,
    status: STATUS_NAMES[order.status],
    cancelReason: order.cancelReason || null,
    items: order.items.map((i) => ({
      sku: i.sku,
      quantity: i.quantity,
      unitPriceCents: i.unitPriceCents > 0n ? Number(i.unitPriceCents) : null,
    })),
    totalCents: priced ? Number(order.totalCents) : null,
    timeline: order.timeline.map((t) => ({
      step: t.step,
      at: t.at ? timestampDate(t.at).toISOString() : null,
      ...(t.detail ? { detail: t.detail } : {}),
    })),
    waitingOn: order.waitingOn || null,
    waitingSince: waitingSince?.toISOString() ?? null,
    waitingForMs: waitingSince ? Math.max(0, now.getTime() - waitingSince.getTime()) : null,
    stalled: order.stalled,
    createdAt: order.createdAt ? timestampDate(order.createdAt).toISOString() : null,
    updatedAt: order.updatedAt ? timestampDate(order.updatedAt).toISOString() : null,
  };
}
