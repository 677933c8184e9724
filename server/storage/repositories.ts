import type pg from "pg";
import type { RunBus } from "../queue/bus.js";
import { AssistantsRepo } from "./assistants.js";
import { CronsRepo } from "./crons.js";
import { RunsRepo } from "./runs.js";
import { StoreRepo } from "./store.js";
import { ThreadsRepo } from "./threads.js";

/** Every table the API reads and writes, behind one repository each: the SQL lives there. */
export interface Repositories {
  assistants: AssistantsRepo;
  threads: ThreadsRepo;
  runs: RunsRepo;
  store: StoreRepo;
  crons: CronsRepo;
}

export function openRepositories(pool: pg.Pool, schema: string, bus: RunBus): Repositories {
  return {
    assistants: new AssistantsRepo(pool, schema),
    threads: new ThreadsRepo(pool, schema),
    runs: new RunsRepo(pool, schema, bus),
    store: new StoreRepo(pool, schema),
    crons: new CronsRepo(pool, schema),
  };
}
