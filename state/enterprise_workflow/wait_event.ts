import { z } from "zod";

/** What a wait_event step does when no matching event came in time. */
export const ON_TIMEOUT = ["continue", "fail", "compensate"] as const;
export type OnTimeout = (typeof ON_TIMEOUT)[number];

const expression = z.string().trim().min(1, "must not be empty");

/**
 * A wait_event step's wait: the thread sleeps (a LangGraph interrupt: no process, no connection)
 * until a signal trigger's event with the same correlation key, passing the filter, resumes it
 * with its payload as the step's output; or until the timeout, which takes `onTimeout`.
 */
export const WaitEventSchema = z
  .object({
    /** CEL over the workflow's variables: the key a signal trigger's event must carry. */
    correlationKey: expression,
    /** CEL over `event` (the payload): an event it does not hold for leaves the thread waiting. */
    filter: expression.optional(),
    timeoutSeconds: z
      .number()
      .positive()
      .max(30 * 86_400)
      .default(86_400),
    onTimeout: z.enum(ON_TIMEOUT, { error: () => `onTimeout must be ${ON_TIMEOUT.join(", ")}` }).default("fail"),
  })
  .strict();
export type WaitEvent = z.infer<typeof WaitEventSchema>;

/** What a waiting thread's interrupt shows, and what the server records to route signals and fire timeouts. */
export interface EventWaitRequest {
  kind: "wait_event";
  stepId: string;
  /** The definition's name: a signal trigger reaches only threads of its own definition. */
  definition: string;
  correlationKey: string;
  filter?: string;
  /** ISO: when the wait ends with `onTimeout`. */
  deadline: string;
  onTimeout: OnTimeout;
}

/** The resume value: the event that matched, or the server's sweep saying the wait timed out. Always an object (a falsy resume is dropped). */
export const EventWaitAnswerSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("event"), trigger: z.string(), eventId: z.string(), payload: z.unknown() }),
  z.object({ kind: z.literal("timeout") }),
]);
export type EventWaitAnswer = z.infer<typeof EventWaitAnswerSchema>;
