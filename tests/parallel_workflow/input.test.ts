import { describe, expect, it } from "vitest";
import { parseWorkflowInput } from "../../state/parallel_workflow/input.js";
import { MAX_TASKS, MAX_TASK_CHARS } from "../../state/shared/tasks.js";
import { InputError } from "../../state/shared/errors.js";

/** The InputError parseWorkflowInput throws for `raw`, so its message can be checked. */
function inputError(raw: unknown): InputError {
  try {
    parseWorkflowInput(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error(`expected parseWorkflowInput to reject ${JSON.stringify(raw).slice(0, 120)}`);
}

describe("parseWorkflowInput: a single task", () => {
  it("turns { task } into a queue of one task, trimmed", () => {
    expect(parseWorkflowInput({ task: "  Compare Postgres and MySQL  " })).toEqual([
      { description: "Compare Postgres and MySQL" },
    ]);
  });

  it("rejects an empty task, naming the field", () => {
    const error = inputError({ task: "" });
    expect(error.name).toBe("InputError");
    expect(error.message).toMatch(/\btask: must not be empty/);
  });

  it("rejects a task of only whitespace", () => {
    expect(inputError({ task: " \n\t " }).message).toMatch(/\btask: must not be empty/);
  });

  it("rejects a 1 MB task, naming the field and the limit", () => {
    const error = inputError({ task: "x".repeat(1_000_000) });
    expect(error.message).toMatch(/\btask: must be at most 20000 characters/);
  });

  it("accepts exactly MAX_TASK_CHARS characters and rejects one more", () => {
    expect(MAX_TASK_CHARS).toBe(20_000);
    expect(parseWorkflowInput({ task: "y".repeat(20_000) })[0]!.description).toHaveLength(20_000);
    expect(inputError({ task: "y".repeat(20_001) }).message).toMatch(/\btask:/);
  });

  it("rejects a task that is not a string, naming the field", () => {
    expect(inputError({ task: 42 }).message).toMatch(/\btask: .*expected string/);
  });

  it("rejects unknown fields, naming the key", () => {
    const error = inputError({ task: "fine", priority: "urgent" });
    expect(error.message).toContain('"priority"');
  });
});

describe("parseWorkflowInput: a task queue", () => {
  it("returns the tasks with their optional fields", () => {
    const tasks = [
      {
        description: "Assess the market for edge inference chips",
        type: "research",
        domain: "semiconductors",
        complexity: 0.9,
        deadline: "2025-07-01",
      },
      { description: "Summarise the risks", complexity: 0 },
    ];
    expect(parseWorkflowInput({ taskQueue: tasks })).toEqual(tasks);
  });

  it("rejects a task without a description, naming its path", () => {
    expect(inputError({ taskQueue: [{ type: "research" }] }).message).toMatch(/taskQueue\.0\.description:/);
  });

  it("names the index of the bad task", () => {
    const error = inputError({ taskQueue: [{ description: "ok" }, { description: "" }] });
    expect(error.message).toMatch(/taskQueue\.1\.description: must not be empty/);
  });

  it("rejects a complexity above 1 and below 0", () => {
    expect(inputError({ taskQueue: [{ description: "a", complexity: 1.5 }] }).message).toMatch(
      /taskQueue\.0\.complexity:/,
    );
    expect(inputError({ taskQueue: [{ description: "a", complexity: -0.1 }] }).message).toMatch(
      /taskQueue\.0\.complexity:/,
    );
  });

  it("accepts the complexity bounds 0 and 1", () => {
    expect(parseWorkflowInput({ taskQueue: [{ description: "a", complexity: 1 }] })[0]!.complexity).toBe(1);
    expect(parseWorkflowInput({ taskQueue: [{ description: "a", complexity: 0 }] })[0]!.complexity).toBe(0);
  });

  it("rejects unknown fields inside a task, naming the key and the task", () => {
    const error = inputError({ taskQueue: [{ description: "a", owner: "me" }] });
    expect(error.message).toMatch(/taskQueue\.0: .*"owner"/);
  });

  it("rejects an empty queue", () => {
    expect(inputError({ taskQueue: [] }).message).toMatch(/taskQueue: must hold at least one task/);
  });

  it(`accepts ${MAX_TASKS} tasks and rejects ${MAX_TASKS + 1}`, () => {
    const tasks = (n: number) => Array.from({ length: n }, (_, i) => ({ description: `task ${i}` }));
    expect(parseWorkflowInput({ taskQueue: tasks(50) })).toHaveLength(50);
    expect(inputError({ taskQueue: tasks(51) }).message).toMatch(/\btaskQueue:/);
  });

  it("accepts deadlines as a date, a UTC datetime or a datetime with an offset", () => {
    for (const deadline of [
      "2025-07-01",
      "2025-07-01T12:00:00Z",
      "2025-07-01T12:00:00.123Z",
      "2025-07-01T12:00:00+02:00",
    ]) {
      expect(parseWorkflowInput({ taskQueue: [{ description: "a", deadline }] })[0]!.deadline).toBe(deadline);
    }
  });

  it("rejects deadlines that are not ISO dates, naming the field", () => {
    for (const deadline of ["tomorrow", "2025-13-01", "2025-02-30", "01/07/2025", "2025-07-01T12:00:00"]) {
      expect(inputError({ taskQueue: [{ description: "a", deadline }] }).message).toMatch(/taskQueue\.0\.deadline:/);
    }
  });
});

describe("parseWorkflowInput: the shape of the input", () => {
  it("rejects both task and taskQueue", () => {
    expect(inputError({ task: "a", taskQueue: [{ description: "b" }] }).message).toMatch(
      /exactly one of 'task' or 'taskQueue'/,
    );
  });

  it("rejects neither task nor taskQueue", () => {
    expect(inputError({}).message).toMatch(/exactly one of 'task' or 'taskQueue'/);
    expect(inputError({ task: undefined }).message).toMatch(/exactly one of 'task' or 'taskQueue'/);
  });

  it("rejects input that is not an object", () => {
    for (const raw of [null, undefined, "a task", 7, [{ description: "a" }]]) {
      expect(inputError(raw).message).toMatch(/^invalid input/);
    }
  });
});
