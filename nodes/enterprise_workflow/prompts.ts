/**
 * The engine's own prompt text. Every other prompt an enterprise workflow sends is its
 * definition's (`llm`, `react.prompt`), rendered over the step's scope; the offline model answers
 * them through the shared schema filling, which reads no label.
 */

/** An orchestrator step's request: its rendered prompt, then the ask for at most `max` subtasks. */
export const splitPrompt = (prompt: string, max: number) => `${prompt}\n\nList the subtasks, at most ${max}.`;
