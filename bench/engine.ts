import { randomUUID } from "node:crypto";
import { Annotation, END, START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import { MemoryEnterpriseControls } from "../checkpoints/enterprise_workflow/controls.js";
import { openCheckpointer } from "../checkpoints/index.js";
import { compileEnterpriseWorkflow } from "../graphs/enterprise_workflow.js";
import { engineServices } from "../nodes/enterprise_workflow/services.js";
import { checkDefinition } from "../state/enterprise_workflow/loader.js";
import { spread } from "./harness.js";

/**
 * The engine's overhead per step: a generated definition of chains and fans (each group a chain of
 * three, a parallel step of six children, a tally), run by the engine, against a hand-written
 * StateGraph of the same shape (one node per step, static edges, the fan's children in one
 * super-step, joined before the tally). Every step does nothing, both on the same Postgres
 * checkpointer with durability "sync": the difference is the interpreter's cost.
 *
 *   npx tsx bench/engine.ts [--repeats N] [--steps N]
 */

const FAN = 6;

interface Group {
  chain: string[];
  fan: string;
  children: string[];
  tally: string;
}

function groupsFor(steps: number): Group[] {
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

const stepCount = (groups: Group[]) => groups.length * (3 + 1 + FAN + 1);

function definitionOf(groups: Group[]) {
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
  return builder.compile({ checkpointer, name: "hand_written" }).withConfig({ recursionLimit: 10_000, durability: "sync" });
}

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number`);
  return value;
}

async function main() {
  const repeats = option("--repeats", 5);
  const groups = groupsFor(option("--steps", 200));
  const steps = stepCount(groups);
  const db = await openCheckpointer({ schema: "bench_engine" });
  try {
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
    for (let i = 0; i < repeats; i++) {
      engineMs.push(
        await timed(async () => {
          const result = await engine.invoke({ definition, input: {} }, { configurable: { thread_id: randomUUID() } });
          if (result.status !== "COMPLETED") throw new Error(`the engine ended ${result.status}`);
        }),
      );
      handMs.push(
        await timed(async () => {
          const result = await hand.invoke({}, { configurable: { thread_id: randomUUID() } });
          if (result.done.length !== steps) throw new Error(`the hand-written graph ran ${result.done.length} of ${steps} steps`);
        }),
      );
    }
    const e = spread(engineMs);
    const h = spread(handMs);
    const perStep = (ms: number) => (ms / steps).toFixed(2);
    const rows = [
      ["engine (definition)", `${Math.round(e.median)} (${Math.round(e.min)}–${Math.round(e.max)})`, perStep(e.median)],
      ["hand-written StateGraph", `${Math.round(h.median)} (${Math.round(h.min)}–${Math.round(h.max)})`, perStep(h.median)],
    ];
    process.stdout.write(`${steps} steps (${groups.length} groups: chain of 3, parallel of ${FAN}, tally), ${repeats} runs each, ${db.location}\n\n`);
    process.stdout.write(`| graph | wall ms, median (min–max) | ms per step |\n| --- | --- | --- |\n${rows.map((row) => `| ${row.join(" | ")} |`).join("\n")}\n\n`);
    process.stdout.write(`engine / hand-written: ${(e.median / h.median).toFixed(2)}× · overhead ${perStep(e.median - h.median)} ms per step\n`);
  } finally {
    await db.pool.query(`DROP SCHEMA IF EXISTS bench_engine CASCADE`).catch(() => undefined);
    await db.close();
  }
}

await main();
