import type { Client } from "@langchain/langgraph-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EnterpriseState } from "../../state/enterprise_workflow/state.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { type ServerProcess, startServer } from "./support.js";

// A parent engine thread served by `orchestra serve`, read through the SDK: its inline child is a
// subgraph in the parent's thread, and getState with subgraphs shows it.

const CHILDREN_DIR = new URL("../enterprise_workflow/fixtures/children/", import.meta.url).pathname;

let db: TestSchema;
let server: ServerProcess;
let client: Client;

beforeAll(async () => {
  db = await createTestSchema();
  server = await startServer(db.schema, { ORCHESTRA_WORKFLOWS_DIR: CHILDREN_DIR });
  client = server.client();
}, 90_000);
afterAll(async () => {
  await server?.stop();
  await db?.cleanup();
});

describe("a parent thread through the SDK", () => {
  it("getState with subgraphs shows the inline child waiting at its approval, inside the parent's task", async () => {
    const thread = await client.threads.create();
    await client.runs.wait(thread.thread_id, "enterprise_workflow", { input: { definition: "delegating", input: {} } });

    const flat = await client.threads.getState(thread.thread_id);
    const childTask = flat.tasks.find((task) => task.name === "child_enterprise_workflow");
    expect(childTask, server.output()).toBeDefined();
    expect(childTask!.state).toBeFalsy();

    const nested = await client.threads.getState(thread.thread_id, undefined, { subgraphs: true });
    const shown = nested.tasks.find((task) => task.name === "child_enterprise_workflow")?.state as
      | { values: EnterpriseState; next: string[] }
      | undefined;
    expect(shown).toBeDefined();
    expect(shown!.values.workflow?.name).toBe("child_approval");
    expect(shown!.values.status).toBe("WAITING_APPROVAL");
    expect(shown!.next).toContain("approval_worker");
  });
});
