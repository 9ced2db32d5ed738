import { EVENTS, NotificationSentSchema } from "@orderflow/contracts";
import { subscribe } from "@orderflow/messaging";
import { recordNotified } from "../order-saga.js";

export const onNotificationSent = subscribe({
  durable: "order-notification-sent",
  subject: EVENTS.notificationSent.subject,
  schema: NotificationSentSchema,
  handler: ({ tx, event }) => recordNotified(tx, event.orderId, event.kind),
  replay: {
    replayable: false,
    why: "it appends the 'notified' step to the timeline: run again, it would append it twice",
  },
});
