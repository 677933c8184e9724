import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY, effectiveRetryPolicy } from "../../state/enterprise_workflow/definition.js";
import {
  DefinitionError,
  checkDefinition,
  findCycle,
  loadDefinitionFile,
} from "../../state/enterprise_workflow/loader.js";

const fixture = (name: string) => path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", name);

async function loadError(name: string): Promise<string> {
  const error = await loadDefinitionFile(fixture(name)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DefinitionError);
  const message = (error as Error).message;
  expect(message.split("\n")).toHaveLength(1);
  return message;
}

describe("loading a definition", () => {
  it("fills the documented defaults", async () => {
    const workflow = await loadDefinitionFile(fixture("order.yaml"));
    expect(workflow.maxParallelSteps).toBe(10);
    const step = workflow.steps[0]!;
    expect(step).toMatchObject({ loopMaxIterations: 100, timeoutSeconds: 300, name: "validate_order" });
    expect(workflow.steps[1]!.stepType).toBe("parallel");
    expect(effectiveRetryPolicy(workflow, step)).toEqual(DEFAULT_RETRY_POLICY);
    expect(DEFAULT_RETRY_POLICY.parallelFailureThreshold).toBe(0.5);
    const defaults = checkDefinition({ name: "x", steps: [{ stepId: "a", stepType: "worker", action: { llm: "p" } }] });
    expect(defaults.timeoutSeconds).toBe(3600);
  });

  it("names a dependency cycle", async () => {
    expect(await loadError("cycle.yaml")).toBe("cycle.yaml: cycle: a → b → c → a; remove one of these dependencies");
  });

  it("rejects an unknown dependency", async () => {
    expect(await loadError("missing-dependency.yaml")).toBe(
      "missing-dependency.yaml: step 'b' depends on unknown step 'ghost'; name a top-level step",
    );
  });

  it("rejects a duplicate step id, children included", async () => {
    expect(await loadError("duplicate-id.json")).toBe(
      "duplicate-id.json: duplicate step id 'a'; step ids must be unique",
    );
  });

  it("rejects an expression that does not parse, naming the step", async () => {
    expect(await loadError("bad-expression.yaml")).toMatch(
      /^bad-expression\.yaml: step 'fraud_check': bad condition 'amount >> 10000': /,
    );
  });

  it("rejects unknown step types and actions", async () => {
    expect(await loadError("unknown-type.yaml")).toBe(
      "unknown-type.yaml: step 'a': stepType: unknown stepType 'teleport'; use one of sequential, parallel, conditional, loop, react, human_approval, orchestrator, worker, webhook, rollback, subworkflow, map, wait_event",
    );
    expect(await loadError("unknown-action.yaml")).toMatch(
      /^unknown-action\.yaml: step 'a': action: unknown action; use \{llm/,
    );
  });

  it("accepts the step types the engine does not run yet", async () => {
    const workflow = await loadDefinitionFile(fixture("approval.yaml"));
    expect(workflow.steps[1]!.stepType).toBe("human_approval");
  });

  it("reports a file it cannot read and text that is not YAML", async () => {
    expect(await loadError("no-such-file.yaml")).toMatch(/no-such-file.yaml does not exist: check the path/);
    expect(() => checkDefinition("just text")).toThrow(DefinitionError);
  });

  it("finds cycles in listed order, or none", () => {
    expect(findCycle([{ stepId: "a", dependencies: ["a"] }])).toEqual(["a", "a"]);
    expect(
      findCycle([
        { stepId: "a", dependencies: [] },
        { stepId: "b", dependencies: ["a"] },
      ]),
    ).toBeUndefined();
  });
});
