/**
 * The import rules `npm test` enforces (tests/import_rules.test.ts runs this):
 * a workflow is its own folders (graphs/<name>.ts, graphs/<name>/ with its manifest, definitions/<name>/ (data), nodes/<name>/,
 * state/<name>/, models/<name>/, checkpoints/<name>/, metrics/<name>/, scripts/<name>/, bench/<name>/);
 * shared code lives in the other folders and imports no workflow. The services the server and the
 * CLI share (db/: the database layer and migrations; metrics/: the metrics and the optimizer's analysis) and the server
 * (server/) reach a workflow only through graphs/registry.ts; the generic CLI (the rest of
 * scripts/) also through scripts/workflow_clis.ts, which reads the manifests' CLIs.
 * WORKFLOWS is read from the manifests' folders; tests/registry.test.ts checks it against the registry.
 */
const fs = require("node:fs");
const path = require("node:path");

/** The workflows: every graphs/<name>/ with a manifest, shared/ (the manifest type) aside (the registry lists the same names: a test checks). */
const WORKFLOWS = fs
  .readdirSync(path.join(__dirname, "graphs"), { withFileTypes: true })
  .filter(
    (entry) =>
      entry.isDirectory() &&
      entry.name !== "shared" &&
      fs.existsSync(path.join(__dirname, "graphs", entry.name, "manifest.ts")),
  )
  .map((entry) => entry.name);
const workflowPath = (name) =>
  `^(graphs/${name}(\\.ts|/)|definitions/${name}/|(nodes|state|models|checkpoints|metrics|scripts|bench)/${name}/)`;
const anyWorkflow = `(${WORKFLOWS.map(workflowPath).join("|")})`;
/** The CLI's way to the workflows' CLIs, through their manifests: the generic scripts' one way in. */
const CLI_REGISTRIES = "^scripts/workflow_clis\\.ts$";

module.exports = {
  forbidden: [
    ...WORKFLOWS.map((name) => ({
      name: `no-cross-workflow-${name}`,
      comment: `the ${name} workflow imports no other workflow`,
      severity: "error",
      from: { path: workflowPath(name) },
      to: { path: anyWorkflow, pathNot: workflowPath(name) },
    })),
    {
      name: "shared-imports-no-workflow",
      comment:
        "shared code (nodes/shared, state/shared, models/offline, the files at checkpoints/ top level, graphs/shared) imports no workflow",
      severity: "error",
      from: {
        path: "^(nodes/shared/|state/shared/|models/(offline/|[^/]+\\.ts$)|checkpoints/[^/]+\\.ts$|graphs/shared/)",
      },
      to: { path: anyWorkflow },
    },
    {
      name: "generic-scripts-through-the-registry",
      comment:
        "the generic CLI (scripts/ outside the workflows' folders) reaches a workflow only through graphs/registry.ts and scripts/workflow_clis.ts",
      severity: "error",
      from: { path: "^scripts/", pathNot: `(${anyWorkflow}|${CLI_REGISTRIES})` },
      to: { path: anyWorkflow },
    },
    {
      name: "server-and-services-through-the-registry",
      comment:
        "the server (server/) and the services it shares with the CLI (db/, metrics/ outside the workflows' folders) reach a workflow only through graphs/registry.ts: not the CLI's way in either",
      severity: "error",
      from: { path: "^(server|db|metrics)/", pathNot: anyWorkflow },
      to: { path: `(${anyWorkflow}|^scripts/)` },
    },
    {
      name: "no-cycles",
      // A lazy loader (a dynamic import) runs after every module has loaded, so it orders nothing:
      // a manifest's loaders reach its workflow's CLI, which may ask the registry back.
      comment: "no module imports itself back through others, lazy loaders aside",
      severity: "error",
      from: { path: "^(graphs|nodes|state|models|checkpoints|db|metrics|scripts|server|bench)/" },
      to: { circular: true, viaOnly: { dependencyTypesNot: ["dynamic-import"] } },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^(node_modules|tests)/" },
  },
};
