/**
 * The system of one describe block: started before its tests (every service,
 * unless the options name some), stopped after them. Its fields are read
 * inside the tests, once it has started.
 */
import { after, before } from "node:test";
import { type System, type SystemOptions, startSystem } from "@orderflow/stack";
import { SERVICE_NAMES } from "@orderflow/system";

export function systemForSuite(options: Partial<SystemOptions> = {}): System {
  const system = {} as System;
  before(async () => {
    Object.assign(system, await startSystem({ services: [...SERVICE_NAMES], ...options }));
  });
  after(async () => {
    await system.stop?.();
  });
  return system;
}
