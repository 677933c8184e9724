/** The workflow `orchestra run` runs when none is named: its own module, so the CLI can name it without loading every graph. */
export const DEFAULT_WORKFLOW = "parallel_workflow";
