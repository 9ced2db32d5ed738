/**
 * Runs one service as a separate Node process, as it runs in production: its
 * own environment, its own stdout. Keeps every log line for assertions and
 * waits for GET /readyz before returning.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { backoffDelayMs } from "@orderflow/backoff";
import { waitFor } from "./wait-for.js";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export interface ServiceProcessOptions {
  /** The service folder under services/, e.g. "order". */
  service: string;
  /** A label for logs when several replicas run, e.g. "order-2". */
  label?: string;
  env: Record<string, string>;
  /** Polled until it answers 200. */
  readyUrl: string;
  readyTimeoutMs?: number;
  /** A file that receives every line, for reading after a failed run. */
  logFile?: string;
  /** Called with every line as it arrives (the local run prints them). */
  onLine?: (line: string) => void;
  /**
   * Run the compiled service (dist/main.bundle.js, as the Docker image does)
   * instead of its TypeScript sources; needs `pnpm build` (or ensureTranspiled) first.
   */
  built?: boolean;
  /**
   * Run in a process group of its own, so that a terminal's Ctrl-C reaches only
   * the parent, which then stops the service once, in order (the local run).
   */
  ownProcessGroup?: boolean;
  /**
   * Restart the process whenever it ends without stop() (a crash, or a kill()
   * by a fault schedule), after a growing delay, as compose's
   * `restart: unless-stopped` does. Every such exit is logged and kept in
   * `exits`: one that nobody caused is reported as died on its own, never hidden.
   */
  supervise?: boolean;
  /** Told of each supervisor event (an exit, a restart); the default writes to stderr. */
  onSupervisorEvent?: (message: string) => void;
  /** A plain Node script to run instead of the service (the supervisor's own test). */
  script?: string;
}

export interface ServiceExit {
  at: Date;
  code: number | string | null;
  /**
   * "killed": by kill() (a fault schedule); "died": nobody asked it to stop;
   * "unready": a restart that ran but never became ready within its budget,
   * killed by the supervisor (as a liveness probe would) to be tried again.
   */
  cause: "killed" | "died" | "unready";
}

export interface ServiceProcess {
  readonly label: string;
  /** Every line the process wrote to stdout and stderr, across restarts. */
  readonly lines: string[];
  /** The JSON log lines, parsed. */
  jsonLines(): Record<string, unknown>[];
  readonly running: boolean;
  /** Resolves with the exit code or signal when the current process ends. */
  exited(): Promise<number | string | null>;
  /** Starts the process; `envChanges` are merged into its environment first (undefined removes a variable). */
  start(envChanges?: Record<string, string | undefined>): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  kill(): Promise<void>;
  restart(): Promise<void>;
  env: Record<string, string>;
  /** Exits the supervisor saw (supervised processes only). */
  readonly exits: ServiceExit[];
  /** Resolves once the process is running and ready again (after a supervised restart). */
  whenReady(): Promise<void>;
  /** How long the last start took to become ready, in ms. */
  readonly readyMs: number;
  /** The current process's pid (undefined when it is not running). */
  readonly pid: number | undefined;
}

/** Lines kept in memory per process for assertions; the log file keeps every line. */
const MAX_KEPT_LINES = 200_000;

/** SERVICE_READY_TIMEOUT_MS, else 90 s: a service started from sources on a loaded 2-core machine is slow. */
export function readyTimeoutMs(): number {
  const fromEnv = Number(process.env.SERVICE_READY_TIMEOUT_MS);
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : 90_000;
}

/** The environment every service process gets, without the test runner's own variables. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { NODE_ENV: "test", LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? "info" };
  for (const key of ["PATH", "HOME", "TMPDIR", "LANG"]) {
    const value = process.env[key];
    if (value) env[key] = value;
  }
  return env;
}

export function createServiceProcess(options: ServiceProcessOptions): ServiceProcess {
  const label = options.label ?? options.service;
  const lines: string[] = [];
  let child: ChildProcess | undefined;
  let exit: Promise<number | string | null> = Promise.resolve(null);
  let stopping = false;
  let killing = false;
  let unready = false;
  let ready: Promise<void> = Promise.resolve();
  let consecutiveRestarts = 0;
  let readySince = 0;
  let readyMs = 0;
  const exits: ServiceExit[] = [];
  const tell =
    options.onSupervisorEvent ?? ((message: string) => process.stderr.write(`[supervisor] ${label}: ${message}\n`));

  // The supervisor: restart after an exit nobody asked for, with a growing delay.
  const supervise = (code: number | string | null) => {
    if (!options.supervise || stopping) return;
    const cause = unready ? "unready" : killing ? "killed" : "died";
    killing = false;
    unready = false;
    exits.push({ at: new Date(), code, cause });
    if (Date.now() - readySince > 30_000) consecutiveRestarts = 0; // it had been healthy for a while
    const delayMs = backoffDelayMs(consecutiveRestarts + 1, { baseMs: 500, maxMs: 10_000 });
    consecutiveRestarts++;
    const what = { killed: "was killed", unready: "was not ready in time", died: "DIED ON ITS OWN" }[cause];
    tell(`${what} (${code}); restarting in ${delayMs} ms`);
    ready = new Promise<void>((resolve) => {
      setTimeout(() => {
        if (stopping) return resolve();
        handle.start().then(
          () => {
            tell("restarted and ready");
            resolve();
          },
          (err: Error) => {
            tell(`restart failed: ${err.message.split("\n")[0]}`);
            // It died again before it was ready: that exit has scheduled the next try already.
            if (!handle.running) return resolve(ready);
            // It runs but never became ready: kill it; that exit schedules the next try.
            unready = true;
            child?.kill("SIGKILL");
            void exit.then(() => resolve(ready));
          },
        );
      }, delayMs);
    });
  };
  // Written asynchronously: a synchronous write per line stalls the harness
  // (and the load it generates) when the services log thousands of lines a second.
  let logStream: WriteStream | undefined;
  if (options.logFile) {
    mkdirSync(dirname(options.logFile), { recursive: true });
    logStream = createWriteStream(options.logFile, { flags: "a" });
  }

  const record = (chunk: Buffer, partial: { text: string }) => {
    partial.text += chunk.toString();
    const parts = partial.text.split("\n");
    partial.text = parts.pop() ?? "";
    for (const line of parts) {
      lines.push(line);
      options.onLine?.(line);
    }
    if (parts.length) logStream?.write(`${parts.join("\n")}\n`);
    // Bounded memory on long runs: the oldest lines go (the log file keeps them all).
    if (lines.length > MAX_KEPT_LINES) lines.splice(0, lines.length - MAX_KEPT_LINES);
  };

  const handle: ServiceProcess = {
    label,
    lines,
    env: options.env,
    jsonLines() {
      return lines.flatMap((l) => {
        try {
          return l.startsWith("{") ? [JSON.parse(l) as Record<string, unknown>] : [];
        } catch {
          return [];
        }
      });
    },
    exits,
    whenReady: () => ready,
    get readyMs() {
      return readyMs;
    },
    get pid() {
      return handle.running ? child?.pid : undefined;
    },
    get running() {
      return !!child && child.exitCode === null && child.signalCode === null;
    },
    exited: () => exit,
    async start(envChanges = {}) {
      if (handle.running) throw new Error(`${label} is already running`);
      stopping = false;
      const startedAt = Date.now();
      for (const [key, value] of Object.entries(envChanges)) {
        if (value === undefined) delete options.env[key];
        else options.env[key] = value;
      }
      const entry = join(REPO_ROOT, "services", options.service, "src", "main.ts");
      // OpenTelemetry's loader hook must be registered before the service's modules load.
      const telemetry = join(REPO_ROOT, "packages", "telemetry", "src", "register.ts");
      const args = options.script
        ? [options.script]
        : options.built
          ? ["--import", "@orderflow/telemetry/register", "dist/main.bundle.js"]
          : ["--conditions=development", "--import", "tsx", "--import", telemetry, entry];
      const proc = spawn(process.execPath, args, {
        cwd: options.built ? join(REPO_ROOT, "services", options.service) : REPO_ROOT,
        env: options.env,
        stdio: ["ignore", "pipe", "pipe"],
        detached: options.ownProcessGroup ?? false,
      });
      child = proc;
      const out = { text: "" };
      const err = { text: "" };
      proc.stdout?.on("data", (d: Buffer) => record(d, out));
      proc.stderr?.on("data", (d: Buffer) => record(d, err));
      exit = new Promise((resolve) => proc.once("exit", (code, signal) => resolve(signal ?? code)));
      void exit.then(supervise);
      const died = exit.then((code) => {
        throw new Error(`${label} exited (${code}) before it was ready:\n${lines.slice(-30).join("\n")}`);
      });
      died.catch(() => {});
      await Promise.race([
        waitFor(`${label} to be ready at ${options.readyUrl}`, async () => (await fetch(options.readyUrl)).ok, {
          timeoutMs: options.readyTimeoutMs ?? readyTimeoutMs(),
        }),
        died,
      ]);
      readySince = Date.now();
      readyMs = readySince - startedAt;
    },
    async stop(graceMs = 10_000) {
      stopping = true;
      const proc = child;
      if (!proc || !handle.running) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      await exit;
      clearTimeout(timer);
    },
    async kill() {
      const proc = child;
      if (!proc || !handle.running) return;
      killing = true;
      proc.kill("SIGKILL");
      await exit;
    },
    async restart() {
      await handle.stop();
      await handle.start();
    },
  };
  return handle;
}
