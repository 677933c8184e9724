import type { AgentTaskInput } from "../../state/dynamic_agents/state.js";
import { PROMPT_LABELS, findingsCap, labelLine } from "../../state/shared/prompt_labels.js";
import { sourcesBrief } from "../shared/prompts.js";

/**
 * The dynamic agents' prompts. An agent's role (its system prompt) is its template's, in
 * state/dynamic_agents/templates.ts. The labels the offline skills read come from
 * state/shared/prompt_labels.ts (docs/decisions/0022-prompt-labels.md).
 */

/** The agent's prompt: its task, its specialisation parameters, and for a coordinator the outputs to combine. */
export function agentPrompt(input: AgentTaskInput): string {
  const { specification } = input;
  const lines = [
    `Agent ${input.agentId} (${specification.agentType}).`,
    labelLine(PROMPT_LABELS.objective, input.taskDescription),
    `Capabilities: ${specification.capabilities.join(", ")}`,
    "Parameters:",
    ...Object.entries(specification.specializationParameters).map(
      ([key, value]) => `- ${key}: ${JSON.stringify(value)}`,
    ),
  ];
  if (input.inputs.length) {
    lines.push("", "Outputs of the agents to combine:");
    for (const other of input.inputs) {
      lines.push(
        `- ${other.agentId} (${other.agentType}): ${other.summary}`,
        ...other.claims.map((claim) => `  - ${claim}`),
      );
    }
  }
  const limit = Number(specification.specializationParameters.iteration_limit ?? 3) + 1;
  lines.push("", `Return ${findingsCap(limit)}, each with concrete evidence and a confidence.`);
  return lines.join("\n");
}

/** An agent's brief to its tool loop: its role, then its prompt. */
export const agentSourcesBrief = (input: AgentTaskInput) => sourcesBrief(input.role, agentPrompt(input));
