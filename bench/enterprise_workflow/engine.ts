import { randomUUID } from "node:crypto";
import { Annotation, END, START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import { MemoryEnterpriseControls } from "../../checkpoints/enterprise_workflow/controls.js";
import { openCheckpointer } from "../../checkpoints/index.js";
import { compileEnterpriseWorkflow } from "../../graphs/enterprise_workflow.js";
import { engineServices } from "../../nodes/enterprise_workflow/services.js";
import { checkDefinition } from "../../state/enterprise_workflow/loader.js";
import { ms, range, table, x } from "../report.js";
import { ratio, spread, type Spread } from "../stats.js";
import type { BenchSettings, WorkflowBench } from "../workflows.js";
import { measureSubworkflowOverhead, renderSubworkflowOverhead } from "./subworkflow.js";

/**
 * The engine's overhead per step: a generated definition of chains and fans (each group a chain of
 * three, a parallel step of six children, a tally), run by the engine, against a hand-written
 * StateGraph of the same shape (one node per step, static edges, the fan's children in one
 * super-step, joined before the tally). Every step does nothing, both on the same Postgres
 * checkpointer with durability "sync": the difference is the interpreter's cost.
 */

const FAN = 6;

interface Group {
  chain: string[];
  fan: string;
  children: string[];
  tally: string;
}

export function groupsFor(steps: number): Group[] {
  const groups: Group[] = [];
  for (let g = 0, count = 0; count < steps; g++, count += 3 + 1 + FAN + 1) {
    groups.push({
      chain: [`chain${g}a`, `chain${g}b`, `chain${g}c`],
      fan: `fan${g}`,
      children: Array.from({ length: FAN }, (_, i) => `fan${g}_${i}`),
      tally: `tally${g}`,
    });
  }
  return groups;
}

export const stepCount = (groups: Group[]) => groups.length * (3 + 1 + FAN + 1);

export function definitionOf(groups: Group[]) {
  const noop = (id: string) => ({ set: { [id]: "1" } });
  const steps: Record<string, unknown>[] = [];
  let previous: string | undefined;
  for (const group of groups) {
    for (const id of group.chain) {
      steps.push({ stepId: id, stepType: "sequential", dependencies: previous ? [previous] : [], action: noop(id) });
      previous = id;
    }
    steps.push({
      stepId: group.fan,
      stepType: "parallel",
      dependencies: [previous],
      parallelSteps: group.children.map((id) => ({ stepId: id, stepType: "sequential", action: noop(id) })),
    });
    steps.push({ stepId: group.tally, stepType: "sequential", dependencies: [group.fan], action: noop(group.tally) });
    previous = group.tally;
  }
  return checkDefinition({ name: "bench_generated", maxParallelSteps: FAN, steps });
}

const HandState = Annotation.Root({
  done: Annotation<string[]>({ reducer: (current, update) => current.concat(update), default: () => [] }),
});

function handWritten(groups: Group[], checkpointer: BaseCheckpointSaver) {
  const builder = new StateGraph(HandState);
  const node = (id: string) => builder.addNode(id, async () => ({ done: [id] }));
  let previous: string = START;
  for (const group of groups) {
    for (const id of [...group.chain, group.fan, ...group.children, group.tally]) node(id);
    for (const id of group.chain) {
      builder.addEdge(previous as never, id as never);
      previous = id;
    }
    builder.addEdge(previous as never, group.fan as never);
    for (const child of group.children) builder.addEdge(group.fan as never, child as never);
    builder.addEdge(group.children as never, group.tally as never);
    previous = group.tally;
  }
  builder.addEdge(previous as never, END);
  return builder
    .compile({ checkpointer, name: "hand_written" })
    .withConfig({ recursionLimit: 10_000, durability: "sync" });
}

export interface EngineOptions {
  /** Steps in the generated definition, rounded up to whole groups. */
  steps: number;
  repeats: number;
  /** Default: env DATABASE_URL, else the embedded Postgres. */
  databaseUrl?: string;
  /** Schema the bench owns: dropped afterwards. */
  schema: string;
  progress?: (message: string) => void;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = { steps: 200, repeats: 5, schema: "orchestra_bench_engine" };

export interface EngineResult {
  steps: number;
  groups: number;
  fan: number;
  /** Median (min–max) of `repeats` runs each, after one warm-up run of each. */
  engineMs: Spread;
  handWrittenMs: Spread;
  /** Medians over steps. */
  engineMsPerStep: number;
  handWrittenMsPerStep: number;
  engineOverHandWritten: number;
  overheadMsPerStep: number;
}

export async function measureEngine(given: Partial<EngineOptions> = {}): Promise<EngineResult> {
  const options = { ...DEFAULT_ENGINE_OPTIONS, ...given };
  const groups = groupsFor(options.steps);
  const steps = stepCount(groups);
  options.progress?.(`engine overhead: ${steps} steps, ${options.repeats} repeats`);
  const db = await openCheckpointer({ databaseUrl: options.databaseUrl, schema: options.schema });
  try {
    // Compiled with in-memory controls, not through the registry's definition, whose controls
    // live in DATABASE_URL's default schema: the figure is the interpreter's cost, not the controls'.
    const engine = compileEnterpriseWorkflow(db.checkpointer, engineServices(new MemoryEnterpriseControls()));
    const definition = definitionOf(groups);
    const hand = handWritten(groups, db.checkpointer);
    const timed = async (run: () => Promise<unknown>) => {
      const started = performance.now();
      await run();
      return performance.now() - started;
    };
    const engineMs: number[] = [];
    const handMs: number[] = [];
    // Warm both once (module loading, prepared statements), then alternate, so load on the machine hits both alike.
    await engine.invoke({ definition, input: {} }, { configurable: { thread_id: randomUUID() } });
    await hand.invoke({}, { configurable: { thread_id: randomUUID() } });
    for (let i = 0; i < options.repeats; i++) {
      engineMs.push(
        await timed(async () => {
          const result = await engine.invoke({ definition, input: {} }, { configurable: { thread_id: randomUUID() } });
          if (result.status !== "COMPLETED") throw new Error(`the engine ended ${result.status}`);
        }),
      );
      handMs.push(
        await timed(async () => {
          const result = await hand.invoke({}, { configurable: { thread_id: randomUUID() } });
          if (result.done.length !== steps)
            throw new Error(`the hand-written graph ran ${result.done.length} of ${steps} steps`);
        }),
      );
    }
    const e = spread(engineMs);
    const h = spread(handMs);
    return {
      steps,
      groups: groups.length,
      fan: FAN,
      engineMs: e,
      handWrittenMs: h,
      engineMsPerStep: e.median / steps,
      handWrittenMsPerStep: h.median / steps,
      engineOverHandWritten: ratio(e.median, h.median),
      overheadMsPerStep: (e.median - h.median) / steps,
    };
  } finally {
    await db.pool.query(`DROP SCHEMA IF EXISTS "${options.schema}" CASCADE`).catch(() => undefined);
    await db.close();
  }
}

export function renderEngine(result: EngineResult): string {
  const perStep = (n: number) => n.toFixed(2);
  return [
    `${result.steps} steps (${result.groups} groups: chain of 3, parallel of ${result.fan}, tally), every action a no-op \`set\`; ` +
      `medians of ${result.engineMs.n} runs each (min–max), ms, on Postgres with durability "sync"`,
    "",
    table(
      ["graph", "wall ms", "ms per step"],
      [
        ["engine (definition)", range(result.engineMs), perStep(result.engineMsPerStep)],
        ["hand-written StateGraph", range(result.handWrittenMs), perStep(result.handWrittenMsPerStep)],
      ],
    ),
    "",
    `engine / hand-written: ${x(result.engineOverHandWritten)} · overhead ${perStep(result.overheadMsPerStep)} ms per step (${ms(result.engineMs.median - result.handWrittenMs.median)} ms per run)`,
    "",
  ].join("\n");
}

/** The enterprise engine's figures in `npm run bench`: its overhead per step, then a subworkflow step's over running its child directly. */
export const enterpriseWorkflowBench: WorkflowBench = {
  workflow: "enterprise_workflow",
  title: "Engine overhead per step",
  async run(settings: BenchSettings) {
    const common = {
      ...(settings.repeats ? { repeats: settings.repeats } : {}),
      ...(settings.progress ? { progress: settings.progress } : {}),
    };
    const engine = await measureEngine({ ...(settings.quick ? { repeats: 2, steps: 50 } : {}), ...common });
    const subworkflow = await measureSubworkflowOverhead({ ...(settings.quick ? { repeats: 2 } : {}), ...common });
    return {
      figures: { ...engine, subworkflow },
      markdown: `${renderEngine(engine)}\n#### Sub-workflow step overhead\n\n${renderSubworkflowOverhead(subworkflow)}`,
    };
  },
};
