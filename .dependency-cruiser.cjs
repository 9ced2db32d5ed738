/**
 * The layering, held by a check (`pnpm check` runs it; dependency-cruiser):
 * services stand apart, packages sit below them, the contracts at the bottom.
 * A rule's `comment` is what a violation prints.
 */
module.exports = {
  forbidden: [
    {
      name: "no-service-to-service",
      comment: "a service never imports another service: they talk over gRPC, NATS or events",
      severity: "error",
      from: { path: "^services/([^/]+)/" },
      to: { path: "^services/([^/]+)/", pathNot: "^services/$1/" },
    },
    {
      name: "packages-below-services",
      comment: "a package never imports a service",
      severity: "error",
      from: { path: "^packages/" },
      to: { path: "^services/" },
    },
    {
      name: "packages-below-the-lab",
      comment: "a package's code never imports the lab (scripts/, e2e/, tooling/); its tests may use the harness",
      severity: "error",
      from: { path: "^packages/[^/]+/src/" },
      to: { path: "^(scripts|e2e|tooling)/" },
    },
    {
      name: "services-below-the-lab",
      comment: "a service's code never imports the lab or the test harness",
      severity: "error",
      from: { path: "^services/[^/]+/src/" },
      to: { path: "^(scripts|e2e|tooling)/" },
    },
    {
      name: "contracts-import-nothing-of-ours",
      comment: "the contracts (proto/) import nothing of this repository's",
      severity: "error",
      from: { path: "^proto/src/" },
      to: { path: "^(packages|services|scripts|e2e|tooling)/" },
    },
    {
      name: "by-package-name",
      comment:
        "the lab, the scripts and the scenarios import another workspace package by its name, never by a relative path into its sources",
      severity: "error",
      from: { path: "^(scripts|e2e|tooling/[^/]+)/" },
      to: { path: "^(packages|services|tooling|proto|e2e)/", pathNot: "^$1/", dependencyTypes: ["local"] },
    },
    {
      name: "stack-below-the-lab",
      comment:
        "the local stack (pnpm start and the tests' harness) never imports the lab, the operator's commands or a scenario",
      severity: "error",
      from: { path: "^tooling/stack/" },
      to: { path: "^(tooling/(lab|operator)|e2e)/" },
    },
    {
      name: "operator-apart-from-the-lab",
      comment:
        "the operator's commands run against a real deployment: they never import the lab, the test stack or a scenario",
      severity: "error",
      from: { path: "^tooling/operator/" },
      to: { path: "^(tooling/(lab|stack)|e2e)/" },
    },
    {
      name: "no-circular",
      comment: "no import cycles",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|dist|gen)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.base.json" },
    // Workspace packages resolve to their sources (the "development" export condition).
    enhancedResolveOptions: { conditionNames: ["development", "import", "default"], exportsFields: ["exports"] },
    combinedDependencies: true,
  },
};
