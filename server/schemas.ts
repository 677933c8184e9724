import { z } from "zod";
import { threadIdProblem } from "../state/shared/thread_id.js";

/** Stream modes this server produces; `messages` (the older values-based form) is not among them. */
export const STREAM_MODES = [
  "values",
  "updates",
  "custom",
  "messages-tuple",
  "debug",
  "tasks",
  "checkpoints",
  "events",
] as const;

const Json = z.record(z.string(), z.unknown());
// Thread ids are the CLI's and the engine's too: one rule for all of them.
export const ThreadId = z.string().superRefine((id, ctx) => {
  const problem = threadIdProblem(id);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
const NodeNames = z.union([z.literal("*"), z.array(z.string())]);

export const AssistantCreate = z.object({
  assistant_id: z.uuid().optional(),
  graph_id: z.string().min(1),
  config: Json.optional(),
  context: Json.optional(),
  metadata: Json.optional(),
  if_exists: z.enum(["raise", "do_nothing"]).optional(),
  name: z.string().optional(),
  description: z.string().nullish(),
});

export type AssistantCreate = z.infer<typeof AssistantCreate>;

export const AssistantPatch = AssistantCreate.omit({ assistant_id: true, if_exists: true }).partial();
export type AssistantPatch = z.infer<typeof AssistantPatch>;

export const AssistantSearch = z.object({
  graph_id: z.string().optional(),
  name: z.string().optional(),
  metadata: Json.optional(),
  limit: z.number().int().min(1).max(1000).default(10),
  offset: z.number().int().min(0).default(0),
  sort_by: z.enum(["assistant_id", "graph_id", "name", "created_at", "updated_at"]).optional(),
  sort_order: z.enum(["asc", "desc"]).optional(),
});
export type AssistantSearch = z.infer<typeof AssistantSearch>;

export const AssistantVersions = z.object({
  metadata: Json.optional(),
  limit: z.number().int().min(1).max(1000).default(10),
  offset: z.number().int().min(0).default(0),
});
export type AssistantVersions = z.infer<typeof AssistantVersions>;

export const AssistantLatest = z.object({
  version: z.number({ error: 'send the version to make current, e.g. {"version": 1}' }).int().min(1),
});

export const TTL_STRATEGIES = ["delete", "keep_latest"] as const;

/** The SDK's thread TTL: minutes after the thread's last activity, then deleted or pruned to its latest checkpoint (server/ttl.ts). */
export const ThreadTtl = z.object({
  strategy: z.enum(TTL_STRATEGIES, { error: "send delete or keep_latest" }).default("delete"),
  ttl: z.number({ error: "send the minutes after the thread's last activity" }).positive(),
});
export type ThreadTtl = z.infer<typeof ThreadTtl>;

export const ThreadCreate = z.object({
  thread_id: ThreadId.optional(),
  metadata: Json.optional(),
  if_exists: z.enum(["raise", "do_nothing"]).optional(),
  graph_id: z.string().optional(),
  ttl: ThreadTtl.nullish(),
});

export const ThreadPatch = z.object({ metadata: Json.optional() });

export const ThreadSearch = z.object({
  metadata: Json.optional(),
  ids: z.array(ThreadId).optional(),
  status: z.enum(["idle", "busy", "interrupted", "error"]).optional(),
  limit: z.number().int().min(1).max(1000).default(10),
  offset: z.number().int().min(0).default(0),
  sort_by: z.enum(["thread_id", "created_at", "updated_at"]).optional(),
  sort_order: z.enum(["asc", "desc"]).optional(),
});
export type ThreadSearch = z.infer<typeof ThreadSearch>;

const CheckpointRef = z.object({
  checkpoint_id: z.string().optional(),
  checkpoint_ns: z.string().optional(),
  checkpoint_map: Json.nullish(),
  thread_id: z.string().optional(),
});

export const StateUpdate = z.object({
  values: z.unknown().optional(),
  as_node: z.string().optional(),
  checkpoint_id: z.string().optional(),
  checkpoint: CheckpointRef.optional(),
});

export const StateAtCheckpoint = z.object({ checkpoint: CheckpointRef, subgraphs: z.boolean().optional() });

export const HistoryRequest = z.object({
  limit: z.number().int().min(1).max(1000).default(10),
  before: z.union([z.string(), z.object({ configurable: Json })]).optional(),
  metadata: Json.optional(),
  checkpoint: CheckpointRef.optional(),
});

export const RunCreate = z
  .object({
    assistant_id: z.string().min(1),
    input: z.unknown().optional(),
    command: z
      .object({ resume: z.unknown().optional(), update: z.unknown().optional(), goto: z.unknown().optional() })
      .nullish(),
    config: z
      .object({
        configurable: Json.optional(),
        metadata: Json.optional(),
        tags: z.array(z.string()).optional(),
        recursion_limit: z.number().int().min(1).optional(),
      })
      .loose()
      .optional(),
    context: Json.nullish(),
    metadata: Json.nullish(),
    stream_mode: z.union([z.enum(STREAM_MODES), z.array(z.enum(STREAM_MODES))]).optional(),
    stream_subgraphs: z.boolean().optional(),
    interrupt_before: NodeNames.optional(),
    interrupt_after: NodeNames.optional(),
    multitask_strategy: z.enum(["reject", "interrupt", "rollback", "enqueue"]).optional(),
    if_not_exists: z.enum(["create", "reject"]).optional(),
    on_disconnect: z.enum(["cancel", "continue"]).optional(),
    on_completion: z.enum(["delete", "keep"]).optional(),
    checkpoint_id: z.string().optional(),
    checkpoint: CheckpointRef.nullish(),
    webhook: z
      .url({
        protocol: /^https?$/,
        error: "webhook must be an http or https URL, e.g. https://example.com/hooks/run-done",
      })
      .nullish(),
  })
  // Fields the SDK sends that change nothing here (durability, feedback_keys...) pass.
  .loose();
export type RunCreate = z.infer<typeof RunCreate>;

const NamespaceLabel = z
  .string()
  .min(1, "labels must not be empty")
  .regex(/^[^.]*$/, "labels must not contain dots");
const Namespace = z.array(NamespaceLabel);

export const StorePut = z.object({
  namespace: Namespace.min(1),
  key: z.string().min(1),
  value: Json,
  // The SDK sends this; this store has no vector index.
  index: z.union([z.literal(false), z.array(z.string())]).nullish(),
  /** Minutes after the last write (or refreshing read); none: kept until deleted. */
  ttl: z.number({ error: "send the item's TTL in minutes, or null to keep it" }).positive().nullish(),
});

export const StoreItemKey = z.object({ namespace: Namespace.min(1), key: z.string().min(1) });

export const StoreItemGet = StoreItemKey.extend({
  refresh_ttl: z
    .enum(["true", "false"], { error: "refresh_ttl must be true or false" })
    .transform((text) => text === "true")
    .optional(),
});

export const StoreSearch = z.object({
  namespace_prefix: Namespace.default([]),
  filter: Json.nullish(),
  limit: z.number().int().min(1).max(1000).default(10),
  offset: z.number().int().min(0).default(0),
  query: z
    .undefined({
      error: "semantic search needs a vector index, which this store has not: search by namespace_prefix and filter",
    })
    .optional(),
  refresh_ttl: z.boolean().nullish(),
});
export type StoreSearch = z.infer<typeof StoreSearch>;

export const StoreNamespaces = z.object({
  prefix: Namespace.optional(),
  suffix: Namespace.optional(),
  max_depth: z.number().int().min(1).optional(),
  limit: z.number().int().min(1).max(1000).default(100),
  offset: z.number().int().min(0).default(0),
});
export type StoreNamespaces = z.infer<typeof StoreNamespaces>;

export const CronCreate = RunCreate.extend({
  schedule: z.string().min(1),
  timezone: z.string().min(1).nullish(),
  end_time: z.iso.datetime({ offset: true }).nullish(),
  enabled: z.boolean().nullish(),
  on_run_completed: z.enum(["delete", "keep"]).nullish(),
});
export type CronCreate = z.infer<typeof CronCreate>;

export const CronSearch = z.object({
  assistant_id: z.string().optional(),
  thread_id: ThreadId.optional(),
  enabled: z.boolean().optional(),
  metadata: Json.optional(),
  limit: z.number().int().min(1).max(1000).default(10),
  offset: z.number().int().min(0).default(0),
  sort_by: z
    .enum(["cron_id", "assistant_id", "thread_id", "next_run_date", "end_time", "created_at", "updated_at"])
    .optional(),
  sort_order: z.enum(["asc", "desc"]).optional(),
});
export type CronSearch = z.infer<typeof CronSearch>;

export const CancelMany = z.object({
  thread_id: ThreadId.optional(),
  run_ids: z.array(z.uuid()).min(1).optional(),
  status: z.enum(["pending", "running", "all"]).optional(),
});
