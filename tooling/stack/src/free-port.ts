import { createServer } from "node:net";

const handedOut = new Set<number>();

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, never the same one twice
 * in this process. Chosen below the kernel's ephemeral range (32768 and up on
 * Linux): a port taken from that range can be grabbed by any outgoing
 * connection (to NATS, to Postgres) between this check and the service's bind.
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("no free port found between 20000 and 32000");
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
