import { interrupt } from "@langchain/langgraph";
import { evaluateExpression } from "../../state/enterprise_workflow/expressions.js";
import type { WorkflowStep } from "../../state/enterprise_workflow/definition.js";
import type { EnterpriseUpdate } from "../../state/enterprise_workflow/state.js";
import { EventWaitAnswerSchema } from "../../state/enterprise_workflow/wait_event.js";
import type { EventWaitTask } from "./tasks.js";
import { outcomeUpdate } from "./workers.js";

/** The wait a step starts now: its correlation key computed from the workflow's variables (throws one line when it cannot be). */
export function eventWaitTask(
  step: WorkflowStep,
  definition: string,
  scope: Record<string, unknown>,
  now: number,
  workflowDeadline: string,
): EventWaitTask {
  const wait = step.waitEvent!;
  const key = evaluateExpression(wait.correlationKey, scope);
  if (typeof key !== "string" && typeof key !== "number")
    throw new Error(`waitEvent.correlationKey gave ${JSON.stringify(key)}, not a string or number`);
  return {
    kind: "wait_event",
    key: step.stepId,
    stepId: step.stepId,
    request: {
      kind: "wait_event",
      stepId: step.stepId,
      definition,
      correlationKey: String(key),
      ...(wait.filter ? { filter: wait.filter } : {}),
      deadline: new Date(now + wait.timeoutSeconds * 1000).toISOString(),
      onTimeout: wait.onTimeout,
    },
    scope,
    outputMapping: step.outputMapping,
    waitingSince: new Date(now).toISOString(),
    deadline: workflowDeadline,
  };
}

/**
 * The step's outcome from the resume value: an event completes it with its payload as the output;
 * a timeout continues (output `{timedOut: true}`), fails the step, or fails it and rolls the
 * workflow back (compensate), whatever continueOnFailure says.
 */
export function eventWaitOutcome(task: EventWaitTask, given: unknown, now: number): EnterpriseUpdate {
  const at = new Date(now).toISOString();
  const waitedMs = Math.max(0, now - Date.parse(task.waitingSince));
  const common: EnterpriseUpdate = {
    deadline: new Date(Date.parse(task.deadline) + waitedMs).toISOString(),
    status: "RUNNING",
  };
  const parsed = EventWaitAnswerSchema.safeParse(given);
  const execution = (value: unknown) => ({
    ok: true as const,
    value,
    attempts: 1,
    retryDelaysMs: [],
    durationMs: waitedMs,
  });
  const failure = (error: string) => ({
    ok: false as const,
    error,
    attempts: 1,
    retryDelaysMs: [],
    durationMs: waitedMs,
  });
  const step = { ...task, role: "step" as const };
  if (!parsed.success)
    return {
      ...common,
      ...outcomeUpdate(
        step,
        failure(`the wait was resumed with ${JSON.stringify(given)}, not an event or a timeout`),
        now,
      ),
    };
  const answer = parsed.data;
  if (answer.kind === "event") {
    const update = outcomeUpdate(step, execution(answer.payload), now);
    const received = {
      at,
      event: "event_received",
      stepId: task.key,
      detail: `trigger ${answer.trigger}, event ${answer.eventId}, key ${task.request.correlationKey}`,
    };
    return { ...common, ...update, auditTrail: [received, ...(update.auditTrail as [])] };
  }
  const { onTimeout, correlationKey } = task.request;
  if (onTimeout === "continue")
    return { ...common, ...outcomeUpdate(step, execution({ timedOut: true, correlationKey }), now) };
  const reason = `no event for correlation key ${correlationKey} by ${task.request.deadline}`;
  const failed = { ...common, ...outcomeUpdate(step, failure(reason), now) };
  return onTimeout === "compensate"
    ? { ...failed, rollback: { target: "FAILED", reason: `step '${task.key}': ${reason}; compensating` } }
    : failed;
}

/** The event worker: sleeps in interrupt() until the server resumes the thread with the matching event or the timeout. */
export function eventWorker(task: EventWaitTask): EnterpriseUpdate {
  const answer: unknown = interrupt(task.request);
  return eventWaitOutcome(task, answer, Date.now());
}
