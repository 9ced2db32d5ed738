/** The only file of the payment service that reads process.env. */
import { eventServiceSettings, loadServiceConfig } from "@orderflow/config";

export const paymentSettings = eventServiceSettings("payment");

export const loadConfig = (env: NodeJS.ProcessEnv = process.env) => loadServiceConfig("payment", paymentSettings, env);

export type PaymentConfig = ReturnType<typeof loadConfig>;
