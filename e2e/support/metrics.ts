/** Reads a service's /metrics, as Prometheus would scrape it. */
import type { ServiceName, System } from "@orderflow/stack";

export async function scrape(system: System, service: ServiceName): Promise<string> {
  const port = service === "gateway" ? system.service(service).env.PORT : system.service(service).env.HTTP_PORT;
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** The value of the first sample of `name` whose labels include all of `labels`; undefined when there is none. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).match(/^\{([^}]*)\}/)?.[1] ?? "";
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) {
      return Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return undefined;
}
