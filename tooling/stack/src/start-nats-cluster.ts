/**
 * A three-node JetStream cluster of real nats-server processes for one test:
 * each node with its own client port, cluster port, store and server_name,
 * routes to the others. A node can be killed (kill -9), restarted on its
 * store, paused (SIGSTOP) and resumed (SIGCONT).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { freePort } from "./free-port.js";
import { killAndWait } from "./start-nats-server.js";
import { waitFor } from "./wait-for.js";

export interface NatsNode {
  name: string;
  url: string;
  readonly pid: number | undefined;
  /** kill -9; the store is kept for start(). */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP: the process hangs, its connections stay open (a frozen VM, a long GC pause). */
  pause(): void;
  resume(): void;
}

export interface NatsClusterHandle {
  /** Every node's client URL, comma-separated (what NATS_URL takes). */
  url: string;
  nodes: NatsNode[];
  node(name: string): NatsNode;
  stop(): Promise<void>;
}

export async function startNatsCluster(
  options: { size?: number; extraConfig?: string; binary?: string; user?: string; pass?: string } = {},
): Promise<NatsClusterHandle> {
  const size = options.size ?? 3;
  const binary = options.binary ?? process.env.NATS_SERVER_BIN ?? "nats-server";
  const dir = mkdtempSync(join(tmpdir(), "orderflow-nats-cluster-"));
  const ports = await Promise.all(
    Array.from({ length: size }, async () => ({ client: await freePort(), cluster: await freePort() })),
  );
  const nodes: NatsNode[] = ports.map((p, i) => {
    const name = `n${i + 1}`;
    const config = join(dir, `${name}.conf`);
    const routes = ports.filter((_, j) => j !== i).map((o) => `nats-route://127.0.0.1:${o.cluster}`);
    writeFileSync(
      config,
      [
        `server_name: ${name}`,
        "host: 127.0.0.1",
        `port: ${p.client}`,
        `jetstream { store_dir: "${join(dir, name)}" }`,
        `cluster { name: orderflow, host: 127.0.0.1, port: ${p.cluster}, routes: [ ${routes.join(", ")} ] }`,
        options.extraConfig ?? "",
      ].join("\n"),
    );
    let child: ChildProcess | undefined;
    let output = "";
    const node: NatsNode = {
      name,
      url: `nats://127.0.0.1:${p.client}`,
      get pid() {
        return child?.pid;
      },
      async start() {
        output = "";
        child = spawn(binary, ["-c", config], { stdio: ["ignore", "pipe", "pipe"] });
        child.stdout?.on("data", (d) => (output += d));
        child.stderr?.on("data", (d) => (output += d));
        const current = child;
        const exited = new Promise<never>((_, reject) =>
          current.once("exit", (code) => reject(new Error(`${name} exited (${code}):\n${output}`))),
        );
        exited.catch(() => {});
        await Promise.race([waitFor(`${name} to listen`, () => output.includes("Server is ready")), exited]);
      },
      async kill() {
        const current = child;
        child = undefined;
        await killAndWait(current);
      },
      pause() {
        child?.kill("SIGSTOP");
      },
      resume() {
        child?.kill("SIGCONT");
      },
    };
    return node;
  });
  await Promise.all(nodes.map((n) => n.start()));
  // Ready when JetStream answers: the nodes have elected a meta leader.
  const nc = await connect({ servers: nodes.map((n) => n.url), user: options.user, pass: options.pass });
  try {
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    await waitFor(
      "the JetStream cluster to elect a meta leader",
      () =>
        jsm.getAccountInfo().then(
          () => true,
          () => false,
        ),
      { timeoutMs: 30_000 },
    );
  } finally {
    await nc.close();
  }
  return {
    url: nodes.map((n) => n.url).join(","),
    nodes,
    node(name) {
      const found = nodes.find((n) => n.name === name);
      if (!found) throw new Error(`no node ${name}`);
      return found;
    },
    async stop() {
      for (const n of nodes) n.resume();
      await Promise.all(nodes.map((n) => n.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
