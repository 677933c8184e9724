import type { WorkflowTrigger } from "../shared/triggers.js";
import { ENGINE_WORKFLOW } from "./definition.js";
import { listNamedDefinitions, loadDefinitionFile } from "./loader.js";

/**
 * The triggers the named definitions declare: each starts the engine on its definition, the
 * mapped event as the run's input. A definition that does not load declares none (its runs say why).
 */
export async function engineTriggers(env: NodeJS.ProcessEnv = process.env): Promise<WorkflowTrigger[]> {
  const named = await listNamedDefinitions(env);
  const loaded = await Promise.all(named.map(({ file }) => loadDefinitionFile(file).catch(() => undefined)));
  return loaded.flatMap((workflow, i) =>
    (workflow?.triggers ?? []).map((trigger) => ({
      ...trigger,
      workflow: ENGINE_WORKFLOW,
      definition: workflow!.name,
      declaredIn: named[i]!.file,
      runInput: (mapped: unknown, eventId: string) => ({
        definition: named[i]!.name,
        input: mapped,
        trigger: { name: trigger.name, eventId },
      }),
    })),
  );
}
