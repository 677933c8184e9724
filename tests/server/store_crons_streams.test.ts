import type { Client } from "@langchain/langgraph-sdk";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../support/calls.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { type ServerProcess, startServer, TASK } from "./support.js";

let db: TestSchema;
let sql: pg.Client;
let a: ServerProcess;
let b: ServerProcess;
let client: Client;

beforeAll(async () => {
  db = await createTestSchema();
  sql = new pg.Client({ connectionString: db.databaseUrl });
  await sql.connect();
  // Two instances on one schema: the cron test needs both; the rest talks to the first.
  [a, b] = await Promise.all([startServer(db.schema), startServer(db.schema)]);
  client = a.client();
}, 90_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await sql?.end();
  await db?.cleanup();
});

const noReview = { review: "never" };

describe("store", () => {
  it("puts, gets, searches by prefix and filter, lists namespaces, and deletes items", async () => {
    const store = client.store;
    await store.putItem(["users", "ada", "prefs"], "theme", { colour: "teal", size: 2 });
    await store.putItem(["users", "ada", "prefs"], "lang", { code: "en" });
    await store.putItem(["users", "bo"], "theme", { colour: "red" });
    await store.putItem(["users", "ada", "prefs"], "theme", { colour: "blue", size: 2 });

    const item = await b.client().store.getItem(["users", "ada", "prefs"], "theme");
    expect(item).toMatchObject({
      namespace: ["users", "ada", "prefs"],
      key: "theme",
      value: { colour: "blue", size: 2 },
    });
    expect(await store.getItem(["users", "ada", "prefs"], "missing")).toBeNull();

    const ada = await store.searchItems(["users", "ada"]);
    expect(ada.items.map((i) => i.key).sort()).toEqual(["lang", "theme"]);
    const blue = await store.searchItems(["users"], { filter: { colour: "blue" } });
    expect(blue.items.map((i) => [i.namespace, i.key])).toEqual([[["users", "ada", "prefs"], "theme"]]);
    expect((await store.searchItems(["users"], { limit: 1, offset: 2 })).items).toHaveLength(1);

    expect((await store.listNamespaces()).namespaces).toEqual([
      ["users", "ada", "prefs"],
      ["users", "bo"],
    ]);
    expect((await store.listNamespaces({ maxDepth: 2 })).namespaces).toEqual([
      ["users", "ada"],
      ["users", "bo"],
    ]);
    expect((await store.listNamespaces({ prefix: ["users", "bo"] })).namespaces).toEqual([["users", "bo"]]);
    expect((await store.listNamespaces({ suffix: ["prefs"] })).namespaces).toEqual([["users", "ada", "prefs"]]);

    await store.deleteItem(["users", "ada", "prefs"], "theme");
    expect(await store.getItem(["users", "ada", "prefs"], "theme")).toBeNull();
    await expect(store.searchItems(["users"], { query: "blue things" })).rejects.toThrow(/422/);
  });
});

describe("crons", () => {
  it("creates, searches, counts and deletes crons; each firing queues one run, on exactly one of two instances", async () => {
    const assistant = await client.assistants.create({ graphId: "parallel_workflow", context: noReview });
    await expect(
      client.crons.create(assistant.assistant_id, { schedule: "every minute", input: TASK }),
    ).rejects.toThrow(/422.*schedule/);
    await expect(
      client.crons.create(assistant.assistant_id, { schedule: "* * * * *", input: { task: "" } }),
    ).rejects.toThrow(/422/);

    const thread = await client.threads.create();
    const onThread = await client.crons.createForThread(thread.thread_id, assistant.assistant_id, {
      schedule: "0 0 1 1 *",
      input: TASK,
      metadata: { kind: "yearly" },
    });
    expect(onThread).toMatchObject({ thread_id: thread.thread_id, schedule: "0 0 1 1 *", enabled: true });
    expect(new Date(onThread.next_run_date!).getUTCMonth()).toBe(0);

    // Six fields: every second, so the test sees several firings; both instances wake at each.
    const everySecond = await client.crons.create(assistant.assistant_id, {
      schedule: "* * * * * *",
      input: TASK,
      metadata: { kind: "secondly" },
      onRunCompleted: "keep",
    });
    expect(await client.crons.count({ assistantId: assistant.assistant_id })).toBe(2);
    expect((await client.crons.search({ metadata: { kind: "secondly" } })).map((c) => c.cron_id)).toEqual([
      everySecond.cron_id,
    ]);

    const firings = async () => {
      const { rows } = await sql.query<{ scheduled_at: string; n: number }>(
        `SELECT metadata->>'scheduled_at' AS scheduled_at, count(*)::int AS n FROM "${db.schema}".runs
         WHERE metadata->>'cron_id' = $1 GROUP BY 1 ORDER BY 1`,
        [everySecond.cron_id],
      );
      return rows;
    };
    await until(async () => (await firings()).length >= 4, "four firings");
    await client.crons.delete(everySecond.cron_id);
    await client.crons.delete(onThread.cron_id);
    await expect(client.crons.delete(onThread.cron_id)).rejects.toThrow(/404/);
    expect(await client.crons.count()).toBe(0);

    const fired = await firings();
    expect(fired.every((f) => f.n === 1)).toBe(true);
    // Kept: each firing's run is on a thread of its own, and completes.
    const { rows } = await sql.query<{ run_id: string; thread_id: string }>(
      `SELECT run_id, thread_id FROM "${db.schema}".runs WHERE metadata->>'cron_id' = $1`,
      [everySecond.cron_id],
    );
    expect(new Set(rows.map((r) => r.thread_id)).size).toBe(rows.length);
    const outcome = (await client.runs.join(rows[0]!.thread_id, rows[0]!.run_id)) as { status: string };
    expect(outcome.status).toBe("completed");
  });
});

describe("stream modes and subgraphs", () => {
  it("streams debug, messages-tuple and events, and the graph's own modes beside events", async () => {
    const thread = await client.threads.create();
    const seen = new Map<string, unknown[]>();
    for await (const chunk of client.runs.stream(thread.thread_id, "parallel_workflow", {
      input: TASK,
      context: noReview,
      streamMode: ["debug", "messages-tuple", "events", "updates"],
    })) {
      seen.set(chunk.event, [...(seen.get(chunk.event) ?? []), chunk.data]);
    }
    expect([...seen.keys()].sort()).toEqual(["debug", "events", "messages", "metadata", "updates"]);
    const debug = seen.get("debug") as { type: string }[];
    expect(new Set(debug.map((d) => d.type))).toEqual(new Set(["checkpoint", "task", "task_result"]));
    const [message, metadata] = (
      seen.get("messages") as [{ type: string; content: unknown }, { langgraph_node: string }][]
    )[0]!;
    expect(message.type).toBe("ai");
    expect(typeof metadata.langgraph_node).toBe("string");
    const events = seen.get("events") as { event: string; name: string; run_id: string }[];
    expect(events.map((e) => e.event)).toEqual(
      expect.arrayContaining(["on_chain_start", "on_chain_end", "on_chat_model_start", "on_chat_model_end"]),
    );
    expect(events.some((e) => e.event === "on_chain_start" && e.name === "task_analyzer")).toBe(true);
    expect((await client.threads.getState(thread.thread_id)).values).toMatchObject({ status: "completed" });
  });

  it("answers the graphs' subgraphs: none in the research workflow, a child per workflow the engine can run", async () => {
    expect(await client.assistants.getSubgraphs("parallel_workflow", { recurse: true })).toEqual({});
    const children = await client.assistants.getSubgraphs("enterprise_workflow");
    expect(Object.keys(children).sort()).toEqual([
      "child_dynamic_agents",
      "child_enterprise_workflow",
      "child_parallel_workflow",
    ]);
  });
});
