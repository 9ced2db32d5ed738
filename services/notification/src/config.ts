/** The only file of the notification service that reads process.env. */
import { eventServiceSettings, loadServiceConfig } from "@orderflow/config";

export const notificationSettings = eventServiceSettings("notification");

export const loadConfig = (env: NodeJS.ProcessEnv = process.env) =>
  loadServiceConfig("notification", notificationSettings, env);
