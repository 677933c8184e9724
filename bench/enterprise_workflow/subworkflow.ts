import { randomUUID } from "node:crypto";
import { MemoryEnterpriseControls } from "../../checkpoints/enterprise_workflow/controls.js";
import { openCheckpointer } from "../../checkpoints/index.js";
import { compileEnterpriseWorkflow } from "../../graphs/enterprise_workflow.js";
import { engineServices } from "../../nodes/enterprise_workflow/services.js";
import { CHILD_MODES, type ChildMode } from "../../state/enterprise_workflow/definition.js";
import { checkDefinition } from "../../state/enterprise_workflow/loader.js";
import { range, table, x } from "../report.js";
import { ratio, spread, type Spread } from "../stats.js";

export interface SubworkflowOverheadOptions {
  /** Set steps in the child: enough work that the ratio measures the step, not noise. */
  childSteps: number;
  repeats: number;
  databaseUrl?: string;
  /** Schema the bench owns: dropped afterwards. */
  schema: string;
  progress?: (line: string) => void;
}

export const DEFAULT_SUBWORKFLOW_OPTIONS: SubworkflowOverheadOptions = {
  childSteps: 10,
  repeats: 5,
  schema: "orchestra_bench_subworkflow",
};

export interface SubworkflowOverhead {
  childSteps: number;
  /** The child run directly, as a thread of its own: median (min–max). */
  directMs: Spread;
  /** The same child as the one step of a parent, per mode. */
  viaStepMs: Record<ChildMode, Spread>;
  /** viaStep median over direct median, per mode: 1 is no overhead. */
  overhead: Record<ChildMode, number>;
}

const CHILD = "bench_child";

/** A chain of set steps: no model calls, so the figure is the engine's and the checkpoints' cost alone. */
const childDefinition = (steps: number) =>
  checkDefinition({
    name: CHILD,
    steps: Array.from({ length: steps }, (_, i) => ({
      stepId: `s${i + 1}`,
      stepType: "sequential",
      action: { set: { [`v${i + 1}`]: `${i + 1}` } },
      ...(i ? { dependencies: [`s${i}`] } : {}),
    })),
  });

const parentDefinition = (mode: ChildMode) => ({
  name: "bench_parent",
  steps: [{ stepId: "child", stepType: "subworkflow", subworkflow: { definition: CHILD, mode } }],
});

/**
 * The sub-workflow step's overhead against running the child directly, as a ratio measured in the
 * same run: one warm-up of each, then the three alternated so load on the machine hits them alike.
 */
export async function measureSubworkflowOverhead(
  given: Partial<SubworkflowOverheadOptions> = {},
): Promise<SubworkflowOverhead> {
  const options = { ...DEFAULT_SUBWORKFLOW_OPTIONS, ...given };
  options.progress?.(`sub-workflow overhead: a ${options.childSteps}-step child, ${options.repeats} repeats`);
  const child = childDefinition(options.childSteps);
  const db = await openCheckpointer({ databaseUrl: options.databaseUrl, schema: options.schema });
  try {
    const engine = compileEnterpriseWorkflow(
      db.checkpointer,
      engineServices(new MemoryEnterpriseControls(), { namedDefinition: async () => child }),
    );
    const once = async (definition: { name: string }) => {
      const started = performance.now();
      const result = await engine.invoke({ definition, input: {} }, { configurable: { thread_id: randomUUID() } });
      if (result.status !== "COMPLETED") throw new Error(`${definition.name} ended ${result.status}`);
      return performance.now() - started;
    };
    const runs: Record<"direct" | ChildMode, number[]> = { direct: [], inline: [], detached: [] };
    for (const definition of [child, ...CHILD_MODES.map(parentDefinition)]) await once(definition);
    for (let i = 0; i < options.repeats; i++) {
      runs.direct.push(await once(child));
      for (const mode of CHILD_MODES) runs[mode].push(await once(parentDefinition(mode)));
    }
    const direct = spread(runs.direct);
    const viaStepMs = { inline: spread(runs.inline), detached: spread(runs.detached) };
    return {
      childSteps: options.childSteps,
      directMs: direct,
      viaStepMs,
      overhead: {
        inline: ratio(viaStepMs.inline.median, direct.median),
        detached: ratio(viaStepMs.detached.median, direct.median),
      },
    };
  } finally {
    await db.pool.query(`DROP SCHEMA IF EXISTS "${options.schema}" CASCADE`).catch(() => undefined);
    await db.close();
  }
}

export function renderSubworkflowOverhead(result: SubworkflowOverhead): string {
  return [
    `a ${result.childSteps}-step child of no-op \`set\` steps, run directly and as the one subworkflow step of a parent; medians of ${result.directMs.n} runs each (min–max), ms`,
    "",
    table(
      ["run", "wall ms", "over direct"],
      [
        ["child directly", range(result.directMs), x(1)],
        ...CHILD_MODES.map((mode) => [
          `subworkflow step, ${mode}`,
          range(result.viaStepMs[mode]),
          x(result.overhead[mode]),
        ]),
      ],
    ),
    "",
  ].join("\n");
}
