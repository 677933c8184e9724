import { Annotation } from "@langchain/langgraph";
import type { SourcesSettings } from "../shared/sources.js";
import type {
  AgentRecord,
  AgentRequirement,
  AgentResult,
  AgentSpecification,
  DynamicAgentsSettings,
  DynamicTask,
  LedgerEntry,
} from "./types.js";
import { append, mergeById, replace, sharedStepChannels } from "../shared/channels.js";
import type { SharedStepEvent } from "../shared/timeline.js";

/** An agent as a timeline event lists it. */
interface AgentLine {
  agentId: string;
  agentType: string | null;
  status: string;
  error?: string;
}

/** The workflow's timeline: one event per node that decides, each of its own shape. */
export type DynamicAgentsTimelineEvent =
  | { at: string; event: "dynamic_agent_creation"; node: string; agents: AgentLine[]; agentsCreated: number }
  | {
      at: string;
      event: "dynamic_agents_finished";
      node: string;
      agents: AgentLine[];
      completed: number;
      failed: number;
      rejectedForResources: number;
    }
  /** The shared steps' events: synchronisation, review decisions, the merge, the gate, the report. */
  | SharedStepEvent;
type TimelineEvent = DynamicAgentsTimelineEvent;

export const DynamicAgentsState = Annotation.Root({
  taskQueue: Annotation<DynamicTask[]>({ reducer: replace, default: () => [] }),
  /** The settings the thread started with: a resume from any process continues under them. */
  settings: Annotation<DynamicAgentsSettings | undefined>({ reducer: replace, default: () => undefined }),
  workflowId: Annotation<string>({ reducer: replace, default: () => "" }),
  requirements: Annotation<AgentRequirement[]>({ reducer: replace, default: () => [] }),
  /** Every agent agent_generator considered, by agent id: its choice, specification, and any refusal. */
  agents: Annotation<Record<string, AgentRecord>>({ reducer: mergeById, default: () => ({}) }),
  /** Every agent that ran, by agent id: its findings (the research workflow's branch-result shape), timings, quality and resources. */
  agentResults: Annotation<Record<string, AgentResult>>({ reducer: mergeById, default: () => ({}) }),
  /** Append-only: allocations and releases. An agent's release is written with its result, in one update. */
  resourceLedger: Annotation<LedgerEntry[], LedgerEntry | LedgerEntry[]>({ reducer: append, default: () => [] }),
  executionTimeline: Annotation<TimelineEvent[], TimelineEvent | TimelineEvent[]>({
    reducer: append,
    default: () => [],
  }),
  monitoringMetrics: Annotation<Record<string, unknown>>({ reducer: replace, default: () => ({}) }),
  /** The shared steps' records, as the research workflow keeps them. */
  ...sharedStepChannels,
});

export type DynamicAgentsStateType = typeof DynamicAgentsState.State;
export type DynamicAgentsUpdate = typeof DynamicAgentsState.Update;

/** What agent_generator Sends to dynamic_agent: everything one agent run needs, none of the rest of the state. */
export interface AgentTaskInput {
  agentId: string;
  model: string;
  /** The template's role, the agent's system prompt. */
  role: string;
  specification: AgentSpecification;
  allocation: LedgerEntry;
  taskDescription: string;
  /** The coordinator's material: the outputs of the agents it combines. */
  inputs: { agentId: string; agentType: string; summary: string; claims: string[] }[];
  /** The sources the agent reads through a tool loop; absent when the run has none, and for coordinators, which combine rather than read. */
  sources?: SourcesSettings;
}
