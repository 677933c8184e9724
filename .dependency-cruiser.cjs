/**
 * The import rules `npm test` enforces (tests/import_rules.test.ts runs this):
 * a workflow is its own folders (graphs/<name>.ts, nodes/<name>/, state/<name>/,
 * models/<name>/, checkpoints/<name>/, bench/<name>/); shared code lives in the other folders and imports no workflow.
 */
const WORKFLOWS = ["parallel_workflow", "dynamic_agents", "enterprise_workflow"];
const workflowPath = (name) => `^(graphs/${name}\\.ts|graphs/${name}_definitions/|(nodes|state|models|checkpoints|bench)/${name}/)`;
const anyWorkflow = `(${WORKFLOWS.map(workflowPath).join("|")})`;

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
      comment: "shared code (nodes/shared, state/shared, models/offline, the files at checkpoints/ top level, graphs/shared) imports no workflow",
      severity: "error",
      from: { path: "^(nodes/shared/|state/shared/|models/(offline/|[^/]+\\.ts$)|checkpoints/[^/]+\\.ts$|graphs/shared/)" },
      to: { path: anyWorkflow },
    },
    {
      name: "no-cycles",
      comment: "no module imports itself back through others",
      severity: "error",
      from: { path: "^(graphs|nodes|state|models|checkpoints|scripts|bench)/" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^(node_modules|tests)/" },
  },
};
