/**
 * A private Postgres server for one test: its own data directory and port, so
 * that a test may stop it (`-m immediate`, a crash as far as clients can tell)
 * and start it again without touching the shared server. The binaries are the
 * installed ones (POSTGRES_BIN_DIR, else /usr/lib/postgresql/<newest>/bin).
 * initdb refuses to run as root: as root, the server runs as `postgres`.
 */
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./free-port.js";

export interface PostgresServerHandle {
  /** Superuser URL of the `postgres` database, trust auth on 127.0.0.1. */
  url: string;
  port: number;
  /** Stops the server; "immediate" aborts every connection and skips the checkpoint, like a crash. */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its data directory. */
  destroy(): Promise<void>;
}

export function postgresBinDir(): string {
  if (process.env.POSTGRES_BIN_DIR) return process.env.POSTGRES_BIN_DIR;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0]) {
    throw new Error("no PostgreSQL server binaries found: set POSTGRES_BIN_DIR or install Debian's postgresql package");
  }
  return join(root, versions[0], "bin");
}

export async function startPostgresServer(): Promise<PostgresServerHandle> {
  const bin = postgresBinDir();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "orderflow-pg-"));
  const data = join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    chmodSync(dir, 0o777);
    execFileSync("chown", ["postgres:postgres", dir]);
  }
  // As root, run each binary as the postgres user. Asynchronously: the test's
  // own consumers keep running while the server stops and starts.
  const command = (tool: string, args: string[]): [string, string[]] =>
    asRoot ? ["runuser", ["-u", "postgres", "--", join(bin, tool), ...args]] : [join(bin, tool), args];
  const run = async (tool: string, args: string[]) => {
    await promisify(execFile)(...command(tool, args));
  };

  await run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  const options = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${dir}`,
    "-c fsync=off",
    "-c max_connections=200",
  ].join(" ");

  const handle: PostgresServerHandle = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      await run("pg_ctl", ["-D", data, "-l", join(dir, "server.log"), "-o", options, "-w", "-t", "120", "start"]);
    },
    async stop(mode = "fast") {
      await run("pg_ctl", ["-D", data, "-m", mode, "-w", "-t", "120", "stop"]);
    },
    async destroy() {
      try {
        await run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}
