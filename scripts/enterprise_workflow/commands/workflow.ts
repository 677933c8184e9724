import { randomUUID } from "node:crypto";
import type { Command } from "commander";
import { InputError } from "../../../state/shared/errors.js";
import {
  examples,
  EXIT,
  JSON_OPTION,
  type JsonOption,
  makeOutput,
  number,
  printJson,
  readJsonFile,
  reviewerName,
  subcommand,
  terminal,
  THREAD_OPTION,
  withCheckpointer,
} from "../../commands/shared.js";
import { shellCommand } from "../../shell_command.js";

/**
 * `orchestra workflow …`: declarative definitions for the engine. validate, graph and list read
 * files only; run and diff open the database.
 */

export interface WorkflowRunOptions extends JsonOption {
  input?: string;
  thread?: string;
  model?: string;
  reviewer?: string;
  role?: string;
}

const INPUT_EXAMPLE = `give a JSON object, e.g. --input '{"amount": 10001}', or --input @input.json`;

async function parseInput(text: string | undefined): Promise<Record<string, unknown>> {
  if (text === undefined) return {};
  let value: unknown;
  if (text.startsWith("@")) value = await readJsonFile("--input", text.slice(1), INPUT_EXAMPLE);
  else {
    try {
      value = JSON.parse(text);
    } catch {
      throw new InputError(`--input is not JSON: ${INPUT_EXAMPLE}`);
    }
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new InputError(`--input must be a JSON object: ${INPUT_EXAMPLE}`);
  return value as Record<string, unknown>;
}

/** A definition file, or the file of a named definition (graph draws the file; run prefers a stored version). */
async function definitionOf(target: string) {
  const [{ isDefinitionFile }, { loadDefinitionFile, loadNamedDefinition }] = await Promise.all([
    import("../engine.js"),
    import("../../../state/enterprise_workflow/loader.js"),
  ]);
  return (await isDefinitionFile(target)) ? loadDefinitionFile(target) : loadNamedDefinition(target);
}

async function runWorkflow(target: string, options: WorkflowRunOptions): Promise<number> {
  const input = await parseInput(options.input);
  const [
    { isDefinitionFile, resolveDefinition, openEngine, driveEngine, terminalDecider, checkChildren },
    { withThreadLock },
    { checkEnterpriseRequest },
  ] = await Promise.all([
    import("../engine.js"),
    import("../../../checkpoints/thread_lock.js"),
    import("../../../state/enterprise_workflow/summary.js"),
  ]);
  // A file is checked before anything opens: a bad definition writes nothing.
  const fromFile = (await isDefinitionFile(target)) ? await definitionOf(target) : undefined;
  const { line } = makeOutput(options);
  const threadId = options.thread ?? randomUUID();
  return withCheckpointer(async (db) => {
    const definition = fromFile ?? (await resolveDefinition(db, target));
    checkEnterpriseRequest({ definition, input });
    await checkChildren(definition, (name) => resolveDefinition(db, name));
    const { engine } = await openEngine(db);
    const interactive = terminal(options) && !!process.stdin.isTTY;
    const summary = await withThreadLock(db, threadId, async () => {
      if ((await engine.getState({ configurable: { thread_id: threadId } })).createdAt)
        throw new InputError(`thread ${threadId} already exists: pick a new --thread`);
      line(`thread ${threadId} · workflow ${definition.name} v${definition.version}`);
      return driveEngine(
        engine,
        threadId,
        { definition, input },
        {
          line,
          ...(options.model ? { model: options.model } : {}),
          ...(interactive ? { decide: terminalDecider(reviewerName(options), options.role) } : {}),
        },
      );
    });
    line(closingLine(summary));
    if (options.json) printJson(summary);
    return exitCodeOf(summary.status);
  });
}

export function closingLine(summary: { threadId: string; status: string }): string {
  if (summary.status === "WAITING_APPROVAL")
    return `${summary.status}: thread ${summary.threadId}: \`${shellCommand("orchestra", "resume", summary.threadId)} --approve --reviewer NAME --role ROLE\` (or --reject)`;
  return `${summary.status}: thread ${summary.threadId}`;
}

/** Finished or waiting for a person: 0; ended badly: 1. */
export const exitCodeOf = (status: string) =>
  ["COMPLETED", "WAITING_APPROVAL", "PAUSED"].includes(status) ? EXIT.ok : EXIT.failed;

export function register(program: Command): void {
  const workflow = subcommand(program, "workflow")
    .description("Declarative workflows for the engine: check, run, draw, list and compare definitions.")
    .addHelpText(
      "after",
      examples(
        "orchestra workflow list",
        "orchestra workflow validate my_flow.yaml",
        "orchestra workflow run financial_transaction --input '{\"amount\": 10001}'",
      ),
    );

  subcommand(workflow, "validate")
    .description(
      "Check a definition file: exit 0 when it can run, 2 with the one-line problem otherwise. Writes nothing.",
    )
    .argument("<file>", "a YAML or JSON definition")
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples(
        "orchestra workflow validate definitions/enterprise_workflow/ecommerce_order.yaml",
        "orchestra workflow validate flow.json --json",
      ),
    )
    .action(async (file: string, options: JsonOption) => {
      const [{ loadDefinitionFile }, { checkChildren }] = await Promise.all([
        import("../../../state/enterprise_workflow/loader.js"),
        import("../engine.js"),
      ]);
      const definition = await loadDefinitionFile(file);
      await checkChildren(definition);
      const steps = definition.steps.length;
      if (options.json) printJson({ valid: true, name: definition.name, version: definition.version, steps });
      else process.stdout.write(`valid: ${definition.name} v${definition.version}, ${steps} steps\n`);
    });

  subcommand(workflow, "run")
    .description(
      "Run a definition (a file, or a name 'workflow list' shows) on a new thread, with a line per step as it moves.",
    )
    .argument("<definition>", "a definition file, or a definition's name")
    .option("--input <json>", "the run's input: a JSON object, or @file")
    .option(...THREAD_OPTION)
    .option(
      "--model <spec>",
      "'offline' or 'openai:<model>' (default: ORCHESTRA_MODEL, else openai if OPENAI_API_KEY is set, else offline)",
    )
    .option("--reviewer <name>", "in a terminal: the name recorded with approvals (default: your OS user)")
    .option("--role <role>", "in a terminal: the role you approve as (asked when not given)")
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples(
        "orchestra workflow run financial_transaction --input '{\"amount\": 10001}'",
        "orchestra workflow run flow.yaml --input @input.json --json",
      ) +
        "\n\nThe --json result (last line): {threadId, status, next, steps}; steps maps each step id to {status, attempts, iterations, durationMs}.",
    )
    .action(async (target: string, options: WorkflowRunOptions) => {
      process.exitCode = await runWorkflow(target, options);
    });

  subcommand(workflow, "graph")
    .description("Print a definition as a mermaid flowchart: its steps and their dependencies.")
    .argument("<definition>", "a definition file, or a definition's name")
    .addHelpText(
      "after",
      examples("orchestra workflow graph ecommerce_order", "orchestra workflow graph flow.yaml > flow.mmd"),
    )
    .option(...JSON_OPTION)
    .action(async (target: string, options: JsonOption) => {
      const { definitionMermaid } = await import("../../../state/enterprise_workflow/report.js");
      const mermaid = definitionMermaid(await definitionOf(target));
      if (options.json) printJson({ mermaid });
      else process.stdout.write(mermaid + "\n");
    });

  subcommand(workflow, "list")
    .description("List the definitions runnable by name: ORCHESTRA_WORKFLOWS_DIR's first, then the shipped examples.")
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples("orchestra workflow list", "ORCHESTRA_WORKFLOWS_DIR=./flows orchestra workflow list --json"),
    )
    .action(async (options: JsonOption) => {
      const { listNamedDefinitions, loadDefinitionFile } = await import("../../../state/enterprise_workflow/loader.js");
      const rows = await Promise.all(
        (await listNamedDefinitions()).map(async ({ name, file }) => {
          const definition = await loadDefinitionFile(file).catch((error: Error) => error);
          return definition instanceof Error
            ? { name, file, valid: false, problem: definition.message }
            : { name, file, valid: true, description: definition.description, steps: definition.steps.length };
        }),
      );
      if (options.json) printJson(rows);
      else
        for (const row of rows)
          process.stdout.write(
            `${row.name.padEnd(24)} ${row.valid ? `${row.steps} steps  ${row.description}` : `invalid: ${row.problem}`}\n`,
          );
    });

  subcommand(workflow, "diff")
    .description(
      "What changed between two stored versions of a definition (written by 'orchestra optimize NAME --apply').",
    )
    .argument("<name>", "the definition's name")
    .option("--from <version>", "the older version (default: the one before --to)", number("--from"))
    .option("--to <version>", "the newer version (default: the newest)", number("--to"))
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples(
        "orchestra workflow diff ecommerce_order",
        "orchestra workflow diff ecommerce_order --from 1 --to 3 --json",
      ),
    )
    .action(async (name: string, options: JsonOption & { from?: number; to?: number }) => {
      const [{ diffWorkflowVersions }, { formatDiff }] = await Promise.all([
        import("../../../metrics/enterprise_workflow/variants.js"),
        import("../../../metrics/variants.js"),
      ]);
      const result = await withCheckpointer((db) =>
        diffWorkflowVersions(db, {
          workflow: name,
          ...(options.from !== undefined ? { from: options.from } : {}),
          ...(options.to !== undefined ? { to: options.to } : {}),
        }),
      );
      if (options.json) printJson(result);
      else process.stdout.write(`${result.workflow} v${result.from} → v${result.to}\n${formatDiff(result.changes)}\n`);
    });
}
