/**
 * Every fault-injection switch and unsafe toggle in the system, in one place.
 *
 * - A FAULT_* switch injects a failure (a slow reply, a crash) so that an
 *   end-to-end scenario can reproduce an incident.
 * - An UNSAFE_* toggle switches a safeguard off, so that the scenario can show
 *   the incident happening without it.
 *
 * All are off by default, and a service started with NODE_ENV=production
 * refuses to start when any of them is set.
 */
import type { ServiceName } from "@orderflow/system";
import { ConfigError, parse } from "./settings.js";

export interface FaultSwitch<T> {
  /** A service of the catalogue (packages/system). */
  service: ServiceName;
  kind: "fault" | "unsafe";
  /** The incident scenario (e2e/<name>.test.ts) that uses it. */
  scenario: string;
  /** Other runs that use it, e.g. chaos's negative control. */
  alsoUsedBy?: string[];
  description: string;
  parse: (raw: string) => T;
}

export const FAULT_SWITCHES = {
  FAULT_ORDER_SLOW_ACK_MS: {
    service: "order",
    kind: "fault",
    scenario: "duplicate-order",
    alsoUsedBy: ["chaos (negative control)"],
    description:
      "PlaceOrder commits its transaction, then waits this many ms before answering: the ack is slower than the caller's deadline.",
    parse: parse.integer(1, 600_000),
  },
  FAULT_ORDER_SLOW_ACK_COUNT: {
    service: "order",
    kind: "fault",
    scenario: "duplicate-order",
    alsoUsedBy: ["chaos (negative control)"],
    description: "How many PlaceOrder replies FAULT_ORDER_SLOW_ACK_MS delays (the first N); unset: every reply.",
    parse: parse.integer(1, 1_000_000),
  },
  UNSAFE_ORDER_IGNORE_IDEMPOTENCY_KEY: {
    service: "order",
    kind: "unsafe",
    scenario: "duplicate-order",
    alsoUsedBy: ["chaos (negative control)"],
    description: "PlaceOrder ignores the idempotency key, so every retry places a new order (the safeguard off).",
    parse: parse.boolean,
  },
  FAULT_INVENTORY_CRASH_BEFORE_COMMIT: {
    service: "inventory",
    kind: "fault",
    scenario: "lost-order",
    description:
      "The stock reservation handler kills its own process (SIGKILL) after its first write and before its commit.",
    parse: parse.boolean,
  },
  UNSAFE_INVENTORY_INBOX_OUTSIDE_TRANSACTION: {
    service: "inventory",
    kind: "unsafe",
    scenario: "lost-order",
    description:
      "The inventory consumers commit their dedup (inbox) record in a transaction of its own, before the work (the safeguard off).",
    parse: parse.boolean,
  },
  FAULT_INVENTORY_FAIL_SKU: {
    service: "inventory",
    kind: "fault",
    scenario: "poison-message",
    description: "The stock reservation handler fails, as a bug would, on every order that contains this SKU.",
    parse: parse.string,
  },
  FAULT_PAYMENT_SLOW_DB_MS: {
    service: "payment",
    kind: "fault",
    scenario: "dark-failure",
    description: "The payment handler's database work takes this many ms longer (pg_sleep in its transaction).",
    parse: parse.integer(1, 600_000),
  },
  UNSAFE_PAYMENT_DARK_CONSUMER: {
    service: "payment",
    kind: "unsafe",
    scenario: "dark-failure",
    description:
      "The payment consumer runs without its telemetry (no metrics, no process spans) and without in-progress acks (the safeguards off).",
    parse: parse.boolean,
  },
  FAULT_ORDER_WRONG_UNIT_PRICES: {
    service: "order",
    kind: "fault",
    scenario: "replay",
    description:
      "The order service records every line's unit price from inventory.stock.reserved ten times too high (a bug that succeeds and acks: what replay is for).",
    parse: parse.boolean,
  },
  UNSAFE_ORDER_NO_WAITING_STATUS: {
    service: "order",
    kind: "unsafe",
    scenario: "dark-failure",
    description:
      "GetOrder no longer says which step a pending order waits on, and the pending/stalled order metrics are gone (the safeguard off).",
    parse: parse.boolean,
  },
} satisfies Record<string, FaultSwitch<unknown>>;

type Switches = typeof FAULT_SWITCHES;
export type FaultSwitchName = keyof Switches;
export type FaultValues<S extends FaultSwitch<unknown>["service"]> = {
  [K in FaultSwitchName as Switches[K]["service"] extends S ? K : never]?: ReturnType<Switches[K]["parse"]>;
};

/**
 * Reads the switches that belong to `service`. Throws when any is set under
 * NODE_ENV=production, or when a value does not parse.
 */
export function readFaultSwitches<S extends FaultSwitch<unknown>["service"]>(
  service: S,
  env: NodeJS.ProcessEnv = process.env,
): FaultValues<S> {
  const values: Record<string, unknown> = {};
  const set = Object.entries(FAULT_SWITCHES).filter(([name]) => env[name] !== undefined && env[name] !== "");
  if (set.length && env.NODE_ENV === "production") {
    throw new ConfigError(
      `refusing to start in production with fault switches or unsafe toggles set: ${set.map(([n]) => n).join(", ")}`,
    );
  }
  for (const [name, sw] of set) {
    if (sw.service !== service) continue;
    try {
      values[name] = sw.parse(env[name] as string);
    } catch (err) {
      throw new ConfigError(`${name}=${JSON.stringify(env[name])}: ${(err as Error).message}`);
    }
  }
  return values as FaultValues<S>;
}
