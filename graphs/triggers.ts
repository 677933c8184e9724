import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { InputError } from "../state/shared/errors.js";
import { manifestTriggers, type WorkflowTrigger } from "../state/shared/triggers.js";
import { WORKFLOWS, workflowName } from "./registry.js";

/** The shipped manifest of triggers for workflows without definition files (the research workflow's). */
export const SHIPPED_TRIGGERS_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "triggers.yaml");

/** ORCHESTRA_TRIGGERS_FILE when set (it replaces the shipped manifest), else graphs/triggers.yaml. */
export function triggersFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.ORCHESTRA_TRIGGERS_FILE ? path.resolve(env.ORCHESTRA_TRIGGERS_FILE) : SHIPPED_TRIGGERS_FILE;
}

/**
 * Every trigger the installation declares: the manifest's, then each workflow's own (the
 * engine's definitions). Names are one namespace, since `POST /triggers/{name}` finds them by it.
 */
export async function workflowTriggers(env: NodeJS.ProcessEnv = process.env): Promise<WorkflowTrigger[]> {
  const file = triggersFile(env);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new InputError(`the triggers manifest ${file} cannot be read: fix ORCHESTRA_TRIGGERS_FILE or unset it`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new InputError(`${file} is not valid YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  const manifest = manifestTriggers(raw, file);
  for (const trigger of manifest) workflowName(trigger.workflow);
  const own = await Promise.all(Object.values(WORKFLOWS).map((entry) => ("triggers" in entry ? entry.triggers() : [])));
  const all = [...manifest, ...own.flat()];
  const seen = new Map<string, string>();
  for (const trigger of all) {
    const first = seen.get(trigger.name);
    if (first !== undefined)
      throw new InputError(
        `trigger ${trigger.name} is declared twice, in ${first} and ${trigger.declaredIn}: rename one`,
      );
    seen.set(trigger.name, trigger.declaredIn);
  }
  return all;
}
