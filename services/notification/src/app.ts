/** buildApp: what the notification service consumes, wired but not running (main.ts runs it). */
import type { BootOptions, EventApp } from "@orderflow/runtime";
import type { Notifier } from "./send-notification.js";
import { notificationSubscriptions } from "./subscriptions.js";

export const NOTIFICATION = {
  service: "notification",
  schema: "notifications",
  migrations: new URL("../drizzle", import.meta.url),
} satisfies BootOptions;

export function buildApp({ notifier }: { notifier: Notifier }): EventApp {
  return {
    subscriptions: notificationSubscriptions(notifier),
    stopAfterConsumers: [["stop sending notifications", () => notifier.stop()]],
  };
}
