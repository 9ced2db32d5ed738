/**
 * Typed settings read from the environment. Every setting names its variable,
 * says what it does, and has a default (or is required) and a validation, so a
 * service fails at start-up with a message naming the variable, never later.
 */
export interface Setting<T> {
  env: string;
  description: string;
  /** Used when the variable is unset or empty. Omit to make the setting required. */
  default?: T;
  parse: (raw: string) => T;
}

export type SettingsShape = Record<string, Setting<unknown>>;
export type SettingsValues<S extends SettingsShape> = { [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function readSettings<S extends SettingsShape>(
  shape: S,
  env: NodeJS.ProcessEnv = process.env,
): SettingsValues<S> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, setting] of Object.entries(shape)) {
    const raw = env[setting.env];
    if (raw === undefined || raw === "") {
      if (setting.default === undefined) problems.push(`${setting.env} is required (${setting.description})`);
      else values[key] = setting.default;
      continue;
    }
    try {
      values[key] = setting.parse(raw);
    } catch (err) {
      problems.push(`${setting.env}=${JSON.stringify(raw)}: ${(err as Error).message}`);
    }
  }
  if (problems.length) throw new ConfigError(`invalid configuration:\n  ${problems.join("\n  ")}`);
  return values as SettingsValues<S>;
}

/** Parsers for the kinds of values settings take. */
export const parse = {
  string: (raw: string) => raw,
  integer:
    (min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) =>
    (raw: string) => {
      if (!/^-?\d+$/.test(raw.trim())) throw new Error("expected a whole number");
      const n = Number(raw);
      if (n < min || n > max) throw new Error(`expected a number from ${min} to ${max}`);
      return n;
    },
  boolean: (raw: string) => {
    const v = raw.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off"].includes(v)) return false;
    throw new Error("expected true or false");
  },
  url: (raw: string) => {
    new URL(raw);
    return raw;
  },
  oneOf:
    <T extends string>(...options: T[]) =>
    (raw: string): T => {
      if (!options.includes(raw as T)) throw new Error(`expected one of ${options.join(", ")}`);
      return raw as T;
    },
};

/** Settings every service shares. */
export const commonSettings = {
  nodeEnv: {
    env: "NODE_ENV",
    description: "production refuses every fault switch and unsafe toggle",
    default: "development",
    parse: parse.oneOf("development", "test", "production"),
  },
  logLevel: {
    env: "LOG_LEVEL",
    description: "pino log level",
    default: "info",
    parse: parse.oneOf("fatal", "error", "warn", "info", "debug", "trace", "silent"),
  },
} satisfies SettingsShape;
