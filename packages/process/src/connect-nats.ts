import { connect, type NatsConnection } from "@nats-io/transport-node";

export interface NatsOptions {
  url: string;
  /** Shown in the server's connection list. */
  name: string;
  user?: string;
  pass?: string;
  /** Services wait for a server that is not up yet (default); a command-line tool fails at once. */
  waitForServer?: boolean;
}

/** A connection that reconnects forever: a broker restart is an outage to ride out, not a crash. */
export function connectNats(options: NatsOptions): Promise<NatsConnection> {
  return connect({
    servers: options.url.split(","),
    name: options.name,
    ...(options.user ? { user: options.user, pass: options.pass } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: options.waitForServer ?? true,
    // nats.js builds an Error per request (every JetStream publish) to keep the caller's stack for a
    // timeout; its stack capture cost ~1.5 % of a service's CPU under load. The errors keep their messages.
    noAsyncTraces: true,
  });
}
