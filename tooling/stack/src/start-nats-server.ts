/**
 * A private nats-server with JetStream for one test run: a free port on
 * 127.0.0.1 and a temporary store directory, removed on stop. `restart()` keeps
 * the port and the store, as a broker restart in production would.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import { waitFor } from "./wait-for.js";

export interface NatsServerHandle {
  url: string;
  port: number;
  storeDir: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the process and keeps the port and the store: an outage. */
  pause(): Promise<void>;
  /** Starts it again after pause() or crash(). */
  resume(): Promise<void>;
  /** kill -9: no clean shutdown; the store is kept for resume(). */
  crash(): Promise<void>;
  /** The server process's pid, while it runs. */
  readonly pid: number | undefined;
}

export interface NatsServerOptions {
  /** nats-server configuration text added to the generated file (e.g. accounts and users). */
  extraConfig?: string;
  binary?: string;
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const binary = options.binary ?? process.env.NATS_SERVER_BIN ?? "nats-server";
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), "orderflow-nats-"));
  const configFile = join(storeDir, "nats.conf");
  writeFileSync(
    configFile,
    [
      `host: 127.0.0.1`,
      `port: ${port}`,
      `jetstream { store_dir: "${join(storeDir, "js")}" }`,
      options.extraConfig ?? "",
    ].join("\n"),
  );
  let child: ChildProcess | undefined;
  let output = "";

  async function start() {
    output = "";
    child = spawn(binary, ["-c", configFile], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (d) => (output += d));
    child.stderr?.on("data", (d) => (output += d));
    const exited = new Promise<never>((_, reject) =>
      child?.once("exit", (code) => reject(new Error(`nats-server exited (${code}):\n${output}`))),
    );
    exited.catch(() => {});
    await Promise.race([
      waitFor("nats-server to listen", () => output.includes("Server is ready") && canConnect(port)),
      exited,
    ]);
  }

  async function stopProcess() {
    const current = child;
    child = undefined;
    if (!current || current.exitCode !== null) return;
    const exited = new Promise((r) => current.once("exit", r));
    current.kill("SIGTERM");
    const timer = setTimeout(() => current.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async restart() {
      await stopProcess();
      await start();
    },
    get pid() {
      return child?.pid;
    },
    pause: stopProcess,
    resume: start,
    async crash() {
      const current = child;
      child = undefined;
      await killAndWait(current);
    },
    async stop() {
      await stopProcess();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

/** kill -9, then wait until the process is gone (nothing to do if it is already). */
export async function killAndWait(process: ChildProcess | undefined): Promise<void> {
  if (!process || process.exitCode !== null) return;
  const exited = new Promise((r) => process.once("exit", r));
  process.kill("SIGKILL");
  await exited;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
