import { newestStoredDefinition } from "../../checkpoints/enterprise_workflow/definition_versions.js";
import type { AdvancedWorkflow } from "../../state/enterprise_workflow/definition.js";
import { loadNamedDefinition } from "../../state/enterprise_workflow/loader.js";
import { openEnterpriseControls, type EnterpriseControlStore } from "../../checkpoints/enterprise_workflow/controls.js";

/** What the engine's nodes reach outside the graph's state. */
export interface EngineServices {
  /** Pause and cancel requests, and the webhook breakers. */
  controls(): Promise<EnterpriseControlStore>;
  /** The clock the breakers' half-open delay is measured on. */
  clock(): number;
  /** Where `${env:NAME}` references and webhook settings are read. */
  env: NodeJS.ProcessEnv;
  /** A definition named by a run: the newest stored version, else the file. */
  namedDefinition?: (name: string) => Promise<AdvancedWorkflow>;
}

let opened: Promise<EnterpriseControlStore> | undefined;

/**
 * The process's controls, opened on first use from DATABASE_URL and ORCHESTRA_DB_SCHEMA (the
 * checkpoints' database), so a served graph and a child process share them with the CLI.
 */
export function defaultEngineServices(): EngineServices {
  return {
    controls: () =>
      (opened ??= openEnterpriseControls().then(
        ({ controls }) => controls,
        (error: unknown) => {
          opened = undefined;
          throw error;
        },
      )),
    clock: Date.now,
    env: process.env,
    namedDefinition: async (name) => (await newestStoredDefinition(name)) ?? loadNamedDefinition(name),
  };
}

/** Services around a store the caller opened: tests, and the CLI with the embedded Postgres. */
export function engineServices(
  controls: EnterpriseControlStore,
  overrides: Partial<Omit<EngineServices, "controls">> = {},
): EngineServices {
  return { controls: async () => controls, clock: Date.now, env: process.env, ...overrides };
}
