/** buildApp: what the payment service consumes, wired but not running (main.ts runs it). */
import type { BootOptions, EventApp } from "@orderflow/runtime";
import type { PaymentConfig } from "./config.js";
import type { PaymentProvider } from "./payment-provider.js";
import { paymentSubscriptions } from "./subscriptions.js";

export const PAYMENT = {
  service: "payment",
  schema: "payments",
  migrations: new URL("../drizzle", import.meta.url),
} satisfies BootOptions;

export interface PaymentAppDeps {
  provider: PaymentProvider;
  faults: PaymentConfig["faults"];
}

export function buildApp({ provider, faults }: PaymentAppDeps): EventApp {
  return {
    subscriptions: paymentSubscriptions(provider, { slowDbMs: faults.FAULT_PAYMENT_SLOW_DB_MS }),
    unsafe: faults.UNSAFE_PAYMENT_DARK_CONSUMER ? { disableInProgressAcks: true, disableTelemetry: true } : {},
  };
}
