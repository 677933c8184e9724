import { randomUUID } from "node:crypto";
import type pg from "pg";
import { Counter, Registry } from "prom-client";
import { inTransaction } from "../checkpoints/transaction.js";
import { InputError } from "../state/shared/errors.js";
import { evaluateEvent, secretEnvName, type WorkflowTrigger } from "../state/shared/triggers.js";
import type { RunQueueing } from "./context.js";
import { HttpError } from "./http.js";
import { evaluateCondition } from "../state/shared/expressions.js";
import { queueResume } from "./event_waits.js";
import type { EventWaitsRepo, TriggerEventsRepo } from "./storage/trigger_events.js";

export const TRIGGER_OUTCOMES = ["accepted", "rejected", "deduplicated"] as const;
export type TriggerOutcome = (typeof TRIGGER_OUTCOMES)[number];

/** What an accepted event answers: the run it started, or the run the same key started before. */
export interface TriggeredRun {
  trigger: string;
  event_id: string;
  thread_id: string;
  run_id: string;
  deduplicated: boolean;
}

/** Label of events naming no trigger: their names are the caller's, so they are not labels of their own. */
const UNKNOWN_TRIGGER = "(unknown)";

/**
 * The triggers this server serves, and what an event does: the filter and mapping, then the run
 * queued in the transaction that claims the event's idempotency key (exactly once), shared by the
 * HTTP route and the NATS consumers.
 */
export class TriggerService {
  readonly registry = new Registry();
  private readonly byName: ReadonlyMap<string, WorkflowTrigger>;
  private readonly events: Counter<"trigger" | "outcome">;

  constructor(
    private readonly options: {
      pool: pg.Pool;
      triggers: readonly WorkflowTrigger[];
      runs: RunQueueing;
      repo: TriggerEventsRepo;
      waits: EventWaitsRepo;
    },
  ) {
    this.byName = new Map(options.triggers.map((trigger) => [trigger.name, trigger]));
    this.events = new Counter({
      name: "orchestra_trigger_events_total",
      help: "Events the triggers of this process received, by outcome: accepted (a run queued), rejected (signature, filter or input), deduplicated (a key seen before)",
      labelNames: ["trigger", "outcome"],
      registers: [this.registry],
    });
  }

  list(): readonly WorkflowTrigger[] {
    return this.options.triggers;
  }

  get(name: string): WorkflowTrigger | undefined {
    return this.byName.get(name);
  }

  count(trigger: string | undefined, outcome: TriggerOutcome): void {
    this.events.inc({
      trigger: trigger !== undefined && this.byName.has(trigger) ? trigger : UNKNOWN_TRIGGER,
      outcome,
    });
  }

  /** One line per HTTP trigger whose secret is not in the environment: its requests are refused until it is set. */
  missingSecrets(env: NodeJS.ProcessEnv = process.env): string[] {
    return this.options.triggers.flatMap((trigger) => {
      const name = secretEnvName(trigger);
      return trigger.source === "http" && name && !env[name]
        ? [`trigger ${trigger.name}: ${name} is not set, so its requests are refused (503); set it and restart`]
        : [];
    });
  }

  /**
   * Acts on an event once per `eventKey`: a key seen before answers with the run it started and
   * queues nothing. Throws HttpError 422 for an event the trigger refuses.
   */
  async handle(trigger: WorkflowTrigger, eventKey: string, event: unknown, subject?: string): Promise<TriggeredRun> {
    try {
      const run =
        trigger.action === "signal"
          ? await this.signalOnce(trigger, eventKey, event, subject)
          : await this.startOnce(trigger, eventKey, event, subject);
      this.count(trigger.name, run.deduplicated ? "deduplicated" : "accepted");
      return run;
    } catch (error) {
      if (error instanceof HttpError || error instanceof InputError) this.count(trigger.name, "rejected");
      throw error;
    }
  }

  private async startOnce(
    trigger: WorkflowTrigger,
    eventKey: string,
    event: unknown,
    subject: string | undefined,
  ): Promise<TriggeredRun> {
    const { pool, runs, repo } = this.options;
    const seen = await this.firstRun(trigger, eventKey, pool);
    if (seen) return seen;
    const outcome = evaluateEvent(trigger, event, subject);
    if (!outcome.accepted) throw new HttpError(422, outcome.reason);
    const threadId = randomUUID();
    const audit = { trigger: trigger.name, event_id: eventKey };
    const prepared = await runs.prepare(threadId, {
      assistant_id: trigger.workflow,
      input: trigger.runInput(outcome.input, eventKey),
      metadata: audit,
      if_not_exists: "create",
    });
    // The thread's metadata names the event too: it outlives the run's row.
    const withAudit = {
      ...prepared,
      access: { ...prepared.access, threadMetadata: { ...prepared.access?.threadMetadata, ...audit } },
    };
    const queued = await inTransaction(pool, async (client) => {
      if (!(await repo.claim(client, trigger.name, eventKey, threadId))) return undefined;
      const { run } = await runs.queue(withAudit, client);
      await repo.setRun(client, trigger.name, eventKey, threadId, run.run_id);
      return run;
    });
    if (queued)
      return {
        trigger: trigger.name,
        event_id: eventKey,
        thread_id: threadId,
        run_id: queued.run_id,
        deduplicated: false,
      };
    // Another delivery of the same event claimed the key meanwhile and has committed its run.
    const first = await this.firstRun(trigger, eventKey, pool);
    if (!first) throw new Error(`trigger ${trigger.name}: event ${eventKey} was claimed but has no run`);
    return first;
  }

  /**
   * Resumes the oldest thread waiting for the event's correlation key whose wait's filter holds.
   * The key is claimed first, so a second delivery waits for the first and answers with its run.
   * No such thread: 409, nothing written, the sender may send it again later.
   */
  private async signalOnce(
    trigger: WorkflowTrigger,
    eventKey: string,
    event: unknown,
    subject: string | undefined,
  ): Promise<TriggeredRun> {
    const { pool, runs, repo, waits } = this.options;
    const seen = await this.firstRun(trigger, eventKey, pool);
    if (seen) return seen;
    const outcome = evaluateEvent(trigger, event, subject);
    if (!outcome.accepted) throw new HttpError(422, outcome.reason);
    const correlationKey = outcome.correlationKey!;
    const audit = { trigger: trigger.name, event_id: eventKey };
    const queued = await inTransaction(pool, async (client) => {
      if (!(await repo.claim(client, trigger.name, eventKey, ""))) return "claimed" as const;
      const matching = (await waits.lockWaiting(client, trigger.definition ?? null, correlationKey)).find((wait) =>
        passes(wait.filter, outcome.input),
      );
      if (!matching)
        throw new HttpError(
          409,
          `no thread${trigger.definition ? ` of ${trigger.definition}` : ""} waits for correlation key ${JSON.stringify(correlationKey)} with a filter this event passes: nothing resumed; send it again once one does`,
        );
      const answer = { kind: "event", trigger: trigger.name, eventId: eventKey, payload: outcome.input };
      const run = await queueResume(client, runs, waits, matching, answer, audit);
      await repo.setRun(client, trigger.name, eventKey, matching.thread_id, run.run_id);
      return { thread_id: matching.thread_id, run_id: run.run_id };
    });
    if (queued !== "claimed") return { trigger: trigger.name, event_id: eventKey, ...queued, deduplicated: false };
    const first = await this.firstRun(trigger, eventKey, pool);
    if (!first) throw new Error(`trigger ${trigger.name}: event ${eventKey} was claimed but has no run`);
    return first;
  }

  private async firstRun(
    trigger: WorkflowTrigger,
    eventKey: string,
    client: pg.Pool,
  ): Promise<TriggeredRun | undefined> {
    const row = await this.options.repo.find(trigger.name, eventKey, client);
    return row?.run_id
      ? { trigger: trigger.name, event_id: eventKey, thread_id: row.thread_id, run_id: row.run_id, deduplicated: true }
      : undefined;
  }
}

/** A wait's filter over the event's payload; one that cannot be evaluated does not hold. */
function passes(filter: string | null, payload: unknown): boolean {
  if (!filter) return true;
  try {
    return evaluateCondition(filter, { event: payload });
  } catch {
    return false;
  }
}
