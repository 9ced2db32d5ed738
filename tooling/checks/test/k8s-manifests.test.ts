import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "@orderflow/stack";
import { Deployment } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Secret, Service } from "kubernetes-models/v1";
import { parseAllDocuments, parse as parseYaml } from "yaml";

/**
 * The Kubernetes manifests of infra/k8s, validated offline against the
 * Kubernetes API schemas (kubernetes-models); no cluster runs here, so
 * nothing is applied. Then checked against docker-compose.yml: the same
 * image, ports, environment names and credentials for every service.
 * (dependencies/ holds a Helm values file and an operator's custom resource:
 * no schema to validate them against here; they are parsed only.)
 */
const K8S = join(REPO_ROOT, "infra", "k8s");
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "apps/v1/Deployment": Deployment,
  "v1/Service": Service,
  "v1/Secret": Secret,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
};

type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  stringData?: Record<string, string>;
};

export function readManifests(dir = join(K8S, "base")): { file: string; doc: Doc }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(dir, file), "utf8")).map((d) => ({ file, doc: d.toJSON() as Doc })),
    );
}

/** Every object against its API schema; a message that names the file, the object and the error. */
export function validateManifests(manifests: { file: string; doc: Doc }[]): string[] {
  const problems: string[] = [];
  for (const { file, doc } of manifests) {
    const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
    if (!Model) {
      problems.push(`${file}: ${doc.apiVersion} ${doc.kind} has no schema here`);
      continue;
    }
    try {
      new Model(doc as never).validate();
    } catch (err) {
      problems.push(`${file}: ${doc.kind} ${doc.metadata?.name}: ${(err as Error).message.slice(0, 300)}`);
    }
  }
  return problems;
}

describe("Kubernetes manifests (validated offline)", () => {
  const manifests = readManifests();

  it("when every object is validated against the Kubernetes API schemas, then none is invalid", () => {
    assert.ok(manifests.length >= 20, `${manifests.length} objects`);
    assert.deepEqual(validateManifests(manifests), []);
  });

  it("when a manifest is broken, then the validation names it", () => {
    const deployment = manifests.find((m) => m.doc.kind === "Deployment");
    assert.ok(deployment);
    const broken = structuredClone(deployment);
    (broken.doc.spec as { replicas: unknown }).replicas = "two";
    const problems = validateManifests([broken]);
    assert.equal(problems.length, 1);
    assert.match(problems[0] as string, /Deployment .*replicas/);
  });

  it("when compared with docker-compose.yml, then images, ports, environment names and credentials agree", () => {
    const compose = parseYaml(
      execFileSync("docker-compose", ["-f", "docker-compose.yml", "config"], { cwd: REPO_ROOT, encoding: "utf8" }),
    ) as {
      services: Record<string, { image?: string; environment?: Record<string, string>; ports?: { target: number }[] }>;
    };
    const secret = manifests.find((m) => m.doc.kind === "Secret")?.doc.stringData ?? {};
    for (const name of ["order", "inventory", "payment", "notification", "gateway"]) {
      const svc = compose.services[name];
      const deployment = manifests.find((m) => m.doc.kind === "Deployment" && m.doc.metadata.name === name)?.doc;
      assert.ok(svc && deployment, name);
      const container = (
        deployment.spec as {
          template: {
            spec: {
              containers: {
                image: string;
                ports: { containerPort: number }[];
                env: { name: string; value?: string; valueFrom?: { secretKeyRef: { key: string } } }[];
              }[];
            };
          };
        }
      ).template.spec.containers[0];
      assert.ok(container);
      assert.equal(container.image, svc.image, `${name}: the image compose runs`);
      assert.deepEqual(
        container.ports.map((p) => p.containerPort).sort(),
        (svc.ports ?? []).map((p) => p.target).sort(),
        `${name}: the ports compose publishes`,
      );
      const composeEnv = svc.environment ?? {};
      for (const e of container.env) {
        assert.ok(e.name in composeEnv, `${name}: ${e.name} is a variable compose gives it too`);
        const value = e.valueFrom ? secret[e.valueFrom.secretKeyRef.key] : e.value;
        if (["NATS_USER", "NATS_PASSWORD"].includes(e.name))
          assert.equal(value, composeEnv[e.name], `${name}: ${e.name}`);
        if (e.name === "DATABASE_URL") {
          const [k8s, dc] = [new URL(value as string), new URL(composeEnv.DATABASE_URL as string)];
          assert.deepEqual([k8s.username, k8s.password], [dc.username, dc.password], `${name}: the database role`);
        }
      }
    }
  });

  it("when the kustomizations are read, then they list every file and name only what the base has", () => {
    const base = parseYaml(readFileSync(join(K8S, "base", "kustomization.yaml"), "utf8")) as { resources: string[] };
    const files = readdirSync(join(K8S, "base")).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
    assert.deepEqual([...base.resources].sort(), files.sort());
    const prod = parseYaml(readFileSync(join(K8S, "overlays", "production", "kustomization.yaml"), "utf8")) as {
      images: { name: string }[];
      replicas: { name: string }[];
    };
    const deployments = manifests.filter((m) => m.doc.kind === "Deployment").map((m) => m.doc.metadata.name);
    for (const r of prod.replicas) assert.ok(deployments.includes(r.name), `overlay replicas: ${r.name}`);
    for (const i of prod.images) assert.equal(i.name, "orderflow:local", "the overlay renames the base image");
    for (const f of readdirSync(join(K8S, "dependencies"))) {
      assert.doesNotThrow(() => parseAllDocuments(readFileSync(join(K8S, "dependencies", f), "utf8")), f);
    }
  });
});
