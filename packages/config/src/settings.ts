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
  /** A number with a fraction allowed (e.g. hours: 0.01 is 36 s). */
  decimal: (min: number, max: number) => (raw: string) => {
    if (!/^\d+(\.\d+)?$/.test(raw.trim())) throw new Error("expected a number, e.g. 24 or 0.5");
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

/** Where a process finds NATS, and who it is there. */
export const natsSettings = {
  natsUrl: {
    env: "NATS_URL",
    description: "NATS server URL(s), comma-separated",
    default: "nats://127.0.0.1:4222",
    parse: parse.string,
  },
  natsUser: {
    env: "NATS_USER",
    description: "NATS user of this service (empty: no auth)",
    default: "",
    parse: parse.string,
  },
  natsPassword: { env: "NATS_PASSWORD", description: "password of NATS_USER", default: "", parse: parse.string },
} satisfies SettingsShape;

/**
 * Who may call: how the gateway and the order service verify a bearer token
 * (packages/auth). The defaults point at the development issuer that
 * `pnpm start` runs; anywhere real, point them at your issuer.
 */
export const authSettings = {
  authIssuer: {
    env: "AUTH_ISSUER",
    description: "the `iss` every token must carry (the issuer's URL)",
    default: "http://127.0.0.1:8090",
    parse: parse.url,
  },
  authAudience: {
    env: "AUTH_AUDIENCE",
    description: "the `aud` every token must carry (or contain)",
    default: "orderflow-api",
    parse: parse.string,
  },
  authJwksUrl: {
    env: "AUTH_JWKS_URL",
    description: "where the issuer publishes its keys (empty: AUTH_ISSUER + /.well-known/jwks.json)",
    default: "",
    parse: parse.url,
  },
  authAlgorithms: {
    env: "AUTH_ALGORITHMS",
    description: "allowed signing algorithms, comma-separated (asymmetric only: HS* and none are refused)",
    default: ["ES256"],
    parse: (raw: string) => {
      const algs = raw
        .split(",")
        .map((a) => a.trim())
        .filter(Boolean);
      const bad = algs.find((a) => !/^(ES256|ES384|ES512|RS256|RS384|RS512|PS256|PS384|PS512|EdDSA|Ed25519)$/.test(a));
      if (bad || algs.length === 0)
        throw new Error(`expected asymmetric JWS algorithms (e.g. ES256), not ${bad ?? "none"}`);
      return algs;
    },
  },
  authClockToleranceS: {
    env: "AUTH_CLOCK_TOLERANCE_S",
    description: "slack for a token's exp and nbf against this machine's clock",
    default: 30,
    parse: parse.integer(0, 600),
  },
  authJwksCooldownMs: {
    env: "AUTH_JWKS_COOLDOWN_MS",
    description: "a token with an unknown kid refetches the issuer's keys at most once per this window",
    default: 30_000,
    parse: parse.integer(0, 3_600_000),
  },
  authJwksMaxAgeMs: {
    env: "AUTH_JWKS_MAX_AGE_MS",
    description: "the issuer's keys are refreshed in the background once this old (a failed refresh keeps them)",
    default: 600_000,
    parse: parse.integer(1000, 86_400_000),
  },
  authJwksTimeoutMs: {
    env: "AUTH_JWKS_TIMEOUT_MS",
    description: "a fetch of the issuer's keys that takes longer fails (the call gets 503, not 401)",
    default: 2000,
    parse: parse.integer(100, 60_000),
  },
  authOperatorScope: {
    env: "AUTH_OPERATOR_SCOPE",
    description: "the scope that may read every customer's orders (operators, the operator tools)",
    default: "orders:operator",
    parse: parse.string,
  },
} satisfies SettingsShape;

/** The verifier's configuration from the auth settings. */
export function verifierConfig(s: {
  authIssuer: string;
  authAudience: string;
  authJwksUrl: string;
  authAlgorithms: string[];
  authClockToleranceS: number;
  authJwksCooldownMs: number;
  authJwksMaxAgeMs: number;
  authJwksTimeoutMs: number;
  authOperatorScope: string;
}) {
  return {
    issuer: s.authIssuer,
    audience: s.authAudience,
    jwksUrl: s.authJwksUrl || `${s.authIssuer.replace(/\/$/, "")}/.well-known/jwks.json`,
    algorithms: s.authAlgorithms,
    clockToleranceS: s.authClockToleranceS,
    jwksCooldownMs: s.authJwksCooldownMs,
    jwksMaxAgeMs: s.authJwksMaxAgeMs,
    jwksTimeoutMs: s.authJwksTimeoutMs,
    operatorScope: s.authOperatorScope,
  };
}

/** Settings of a service that consumes and produces events. */
export const messagingSettings = {
  ...natsSettings,
  ackWaitMs: {
    env: "CONSUMER_ACK_WAIT_MS",
    description: "how long JetStream waits for an ack or an in-progress signal before redelivering",
    default: 30_000,
    parse: parse.integer(100, 3_600_000),
  },
  maxDeliver: {
    env: "CONSUMER_MAX_DELIVER",
    description: "failed attempts of one message (with the database answering) before it goes to the dead letters",
    default: 5,
    parse: parse.integer(1, 100),
  },
  maxAckPending: {
    env: "CONSUMER_MAX_ACK_PENDING",
    description: "unacked messages per consumer at most (backpressure)",
    default: 100,
    parse: parse.integer(1, 10_000),
  },
  concurrency: {
    env: "CONSUMER_CONCURRENCY",
    description:
      "batches each consumer processes at once at most, each in its own transaction (a further one starts only when a full batch waits)",
    default: 4,
    parse: parse.integer(1, 256),
  },
  batchSize: {
    env: "CONSUMER_BATCH_SIZE",
    description:
      "messages one consumer transaction takes at most (what its pull has buffered; 1: one message per transaction)",
    default: 32,
    parse: parse.integer(1, 1000),
  },
  outboxBatchSize: {
    env: "OUTBOX_BATCH_SIZE",
    description: "outbox rows the relay claims per transaction",
    default: 100,
    parse: parse.integer(1, 10_000),
  },
  streamMaxAgeHours: {
    env: "STREAM_MAX_AGE_HOURS",
    description: "how long the domain streams keep events: the window `pnpm replay` can reach (fractions allowed)",
    default: 168,
    parse: parse.decimal(0.001, 24 * 365),
  },
  inboxRetentionHours: {
    env: "INBOX_RETENTION_HOURS",
    description:
      "how long a consumer remembers a processed message (the inbox, replay records included); must be longer than STREAM_MAX_AGE_HOURS",
    default: 192,
    parse: parse.decimal(0.001, 24 * 3650),
  },
  consumerFailureRetentionHours: {
    env: "CONSUMER_FAILURE_RETENTION_HOURS",
    description:
      "how long a message's failure count is kept; must be longer than it can be redelivered (CONSUMER_MAX_DELIVER x (CONSUMER_ACK_WAIT_MS + 30 s))",
    default: 24,
    parse: parse.decimal(0.001, 24 * 3650),
  },
  outboxRetentionHours: {
    env: "OUTBOX_RETENTION_HOURS",
    description: "how long a published outbox row is kept (JetStream holds the event once published)",
    default: 24,
    parse: parse.decimal(0.001, 24 * 3650),
  },
  retentionIntervalMs: {
    env: "RETENTION_INTERVAL_MS",
    description: "how often the rows past their retention are pruned",
    default: 60_000,
    parse: parse.integer(100, 86_400_000),
  },
  retentionBatchSize: {
    env: "RETENTION_BATCH_SIZE",
    description: "rows one pruning statement deletes at most (a short lock each)",
    default: 1000,
    parse: parse.integer(1, 100_000),
  },
  streamReplicas: {
    env: "STREAM_REPLICAS",
    description: "replicas of each stream (num_replicas): 1 on one nats-server, 3 on a three-node JetStream cluster",
    default: 1,
    parse: parse.integer(1, 5),
  },
  outboxPollMs: {
    env: "OUTBOX_POLL_MS",
    description: "polling fallback of the outbox relay (it also wakes on every commit)",
    default: 1000,
    parse: parse.integer(10, 60_000),
  },
} satisfies SettingsShape;

/** The database and ops-port settings of a service that owns a schema; `httpPort` is its default ops port. */
export function serviceSettings(httpPort: number) {
  return {
    databaseUrl: {
      env: "DATABASE_URL",
      description: "Postgres connection URL (the service's own role)",
      parse: parse.url,
    },
    httpPort: {
      env: "HTTP_PORT",
      description: "port of /healthz, /readyz and /metrics",
      default: httpPort,
      parse: parse.integer(0, 65535),
    },
  } satisfies SettingsShape;
}

/** The longest nak delay between two deliveries of a message (messaging's defaultRetryDelayMs cap). */
export const MAX_REDELIVERY_BACKOFF_MS = 30_000;

/**
 * Refuses retention windows under which a duplicate could slip through
 * (docs/adr/0014-retention.md): the inbox must remember a message for longer
 * than its stream keeps it, and a failure count for longer than the message
 * can be redelivered.
 */
export function checkRetentionWindows(c: {
  inboxRetentionHours: number;
  streamMaxAgeHours: number;
  consumerFailureRetentionHours: number;
  ackWaitMs: number;
  maxDeliver: number;
}): void {
  if (c.inboxRetentionHours <= c.streamMaxAgeHours) {
    throw new ConfigError(
      `invalid configuration:\n  INBOX_RETENTION_HOURS=${c.inboxRetentionHours} must be longer than STREAM_MAX_AGE_HOURS=${c.streamMaxAgeHours}: a consumer that re-reads its stream (recreated, or reset) would process again every event whose inbox record is gone`,
    );
  }
  const redeliveryHours = (c.maxDeliver * (c.ackWaitMs + MAX_REDELIVERY_BACKOFF_MS)) / 3_600_000;
  if (c.consumerFailureRetentionHours <= redeliveryHours) {
    throw new ConfigError(
      `invalid configuration:\n  CONSUMER_FAILURE_RETENTION_HOURS=${c.consumerFailureRetentionHours} must be longer than a message can be redelivered (CONSUMER_MAX_DELIVER x (CONSUMER_ACK_WAIT_MS + 30 s) = ${redeliveryHours.toFixed(3)} h): a failure count pruned too early would let a poison message retry forever`,
    );
  }
}
